//! Shared locks under the paused clock: never two holders, waiting runs in
//! order with the holder named, `forbid` skips, a wait ends at the job's
//! timeout, `replace` drops its own waiting runs.

use super::*;

/// Every run of `jobs`.
fn all(h: &Harness, jobs: &[&str]) -> Vec<Run> {
    let reader = h.store.reader();
    jobs.iter()
        .flat_map(|j| reader.runs(Some(j), None, 10_000, None).unwrap())
        .collect()
}

/// The runs of `jobs` that started and ended, as (start, end, job), by start.
fn spans(h: &Harness, jobs: &[&str]) -> Vec<(DateTime<Utc>, DateTime<Utc>, String)> {
    let mut out: Vec<_> = all(h, jobs)
        .into_iter()
        .filter_map(|r| Some((r.started_at?, r.finished_at?, r.job)))
        .collect();
    out.sort();
    out
}

#[tokio::test(start_paused = true)]
async fn three_every_second_jobs_sharing_a_lock_never_overlap_for_five_minutes() {
    let yaml = "jobs:
  - { name: a, schedule: '* * * * * *', command: ['true'], lock: nas, concurrency: allow }
  - { name: b, schedule: '* * * * * *', command: ['true'], lock: nas, concurrency: allow }
  - { name: c, schedule: '* * * * * *', command: ['true'], lock: nas, concurrency: allow }
";
    let takes = Duration::from_millis(250);
    let h = start_with(
        yaml,
        wall("12:00:00"),
        (RunStatus::Succeeded, false),
        &[],
        takes,
    );
    h.wait(5 * 60).await;
    let spans = spans(&h, &["a", "b", "c"]);
    assert!(spans.len() >= 3 * 299, "{} runs", spans.len());
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "{} started at {} while {} ran until {}",
            pair[1].2,
            pair[1].0,
            pair[0].2,
            pair[0].1
        );
    }
    let waited = all(&h, &["a", "b", "c"])
        .iter()
        .filter(|r| {
            r.started_at
                .zip(r.scheduled_for)
                .is_some_and(|(s, f)| s > f)
        })
        .count();
    assert!(
        waited > 100,
        "runs of one instant queue behind each other: {waited}"
    );
    let failed: Vec<Run> = all(&h, &["a", "b", "c"])
        .into_iter()
        .filter(|r| r.finished_at.is_some() && r.status != RunStatus::Succeeded)
        .collect();
    assert!(failed.is_empty(), "every run got its turn: {failed:?}");
    h.stop().await;
}

const HELD: &str = "jobs:
  - { name: holder, command: ['true'], lock: nas }
  - { name: patient, command: ['true'], lock: nas, concurrency: allow, timeout: 10s }
  - { name: second, command: ['true'], lock: nas, concurrency: allow }
  - { name: third, command: ['true'], lock: nas, concurrency: allow }
  - { name: strict, command: ['true'], lock: nas, concurrency: forbid }
  - { name: free, command: ['true'], lock: other }
";

#[tokio::test(start_paused = true)]
async fn a_held_lock_makes_runs_wait_or_skip_and_a_wait_ends_at_the_timeout() {
    let h = start(HELD, "12:00:00", (RunStatus::Succeeded, true), &[]);
    let holder = h.manual("holder").await.unwrap();
    h.wait(1).await;
    h.manual("patient").await.unwrap();
    h.manual("strict").await.unwrap();
    h.manual("free").await.unwrap();
    h.wait(1).await;
    let last = |job: &str| h.runs(job).pop().unwrap();
    let waiting = last("patient");
    assert_eq!(waiting.status, RunStatus::Waiting);
    let held_by = format!("lock nas held by job holder run {holder}");
    assert_eq!(waiting.reason, Some(format!("waiting: {held_by}")));
    assert_eq!(last("strict").status, RunStatus::Skipped);
    assert_eq!(last("strict").reason, Some(held_by.clone()));
    assert_eq!(
        last("free").status,
        RunStatus::Running,
        "another lock is free"
    );
    h.wait(10).await;
    let gave_up = last("patient");
    assert_eq!(gave_up.status, RunStatus::TimedOut);
    let reason = gave_up.reason.unwrap_or_default();
    assert!(
        reason.starts_with("waited 10s (its timeout) for lock nas"),
        "{reason}"
    );
    assert!(gave_up.started_at.is_none(), "it never started");
    assert_eq!(
        *h.calls.lock().unwrap(),
        ["holder", "free"],
        "no process for a waiting or skipped run"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn waiting_runs_start_in_order_when_the_lock_frees() {
    let takes = Duration::from_secs(5);
    let h = start_with(
        HELD,
        wall("12:00:00"),
        (RunStatus::Succeeded, false),
        &[],
        takes,
    );
    for job in ["holder", "second", "third", "second"] {
        h.manual(job).await.unwrap();
    }
    h.wait(60).await;
    let order: Vec<String> = spans(&h, &["holder", "second", "third"])
        .into_iter()
        .map(|s| s.2)
        .collect();
    assert_eq!(order, ["holder", "second", "third", "second"]);
    assert!(
        h.runs("second")
            .iter()
            .all(|r| r.status == RunStatus::Succeeded)
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn replace_drops_its_own_waiting_run_and_a_stop_ends_the_queue() {
    let yaml = "jobs:
  - { name: holder, command: ['true'], lock: nas }
  - { name: newest, command: ['true'], lock: nas, concurrency: replace }
  - { name: queued, command: ['true'], lock: nas, concurrency: allow }
";
    let h = start(yaml, "12:00:00", (RunStatus::Succeeded, true), &[]);
    for job in ["holder", "newest", "newest", "queued"] {
        h.manual(job).await.unwrap();
    }
    h.wait(1).await;
    let statuses = |job: &str| h.runs(job).iter().map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(
        statuses("newest"),
        [RunStatus::Interrupted, RunStatus::Waiting]
    );
    let dropped = h.runs("newest").remove(0).reason.unwrap_or_default();
    assert!(dropped.starts_with("replaced by a newer run"), "{dropped}");
    let store = h.store.clone();
    h.stop().await;
    let after: Vec<_> = ["newest", "queued"]
        .iter()
        .map(|j| store.reader().runs(Some(j), None, 1, None).unwrap()[0].clone())
        .collect();
    for run in after {
        assert_eq!(run.status, RunStatus::Interrupted, "{run:?}");
        let reason = run.reason.unwrap_or_default();
        assert!(reason.contains("while it waited for its lock"), "{reason}");
    }
}

#[tokio::test(start_paused = true)]
async fn jobs_of_one_instant_name_the_run_that_took_their_lock() {
    let yaml = "jobs:
  - { name: a, schedule: '* * * * *', command: ['true'], lock: nas }
  - { name: b, schedule: '* * * * *', command: ['true'], lock: nas, concurrency: allow }
  - { name: c, schedule: '* * * * *', command: ['true'], lock: nas, concurrency: forbid }
";
    let h = start(yaml, "12:00:30", (RunStatus::Succeeded, true), &[]);
    h.wait(40).await;
    let a = h.runs("a").pop().unwrap();
    assert_eq!(a.status, RunStatus::Running);
    let (b, c) = (h.runs("b").pop().unwrap(), h.runs("c").pop().unwrap());
    let held_by = format!("lock nas held by job a run {}", a.id);
    assert_eq!(
        (b.status, b.reason),
        (RunStatus::Waiting, Some(format!("waiting: {held_by}")))
    );
    assert_eq!((c.status, c.reason), (RunStatus::Skipped, Some(held_by)));
    h.stop().await;
}

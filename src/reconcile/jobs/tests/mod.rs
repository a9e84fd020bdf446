//! The scheduler's decisions, with a fake runner (no process), a real store
//! in a temp folder and tokio's paused clock driving the wall clock: missed
//! instants per policy, concurrency per policy, retries with their backoff,
//! at most one run per instant, chains and shared locks.

mod harness;
mod locks;
mod preview;

use harness::*;

const HOURLY: &str = "jobs:
  - { name: skipper, schedule: '0 * * * *', command: ['true'], missed: skip, missed_window: 6h }
  - { name: once, schedule: '0 * * * *', command: ['true'], missed: run-once, missed_window: 6h }
  - { name: all, schedule: '0 * * * *', command: ['true'], missed: run-all, missed_window: 6h, concurrency: allow }
  - { name: serial, schedule: '0 * * * *', command: ['true'], missed: run-all, missed_window: 6h, concurrency: forbid }
  - { name: fresh, schedule: '0 * * * *', command: ['true'], missed: run-all, missed_window: 6h }
";

#[tokio::test(start_paused = true)]
async fn missed_instants_follow_each_policy() {
    let before = [
        ("skipper", "09:00:00"),
        ("once", "09:00:00"),
        ("all", "09:00:00"),
        ("serial", "09:00:00"),
    ];
    let h = start(HOURLY, "12:30:00", (RunStatus::Succeeded, false), &before);
    h.wait(60).await;
    let caught = |job: &str| -> Vec<(Trigger, RunStatus, Option<DateTime<Utc>>)> {
        h.runs(job)
            .into_iter()
            .filter(|r| r.commit.as_deref() != Some("old"))
            .map(|r| (r.trigger, r.status, r.scheduled_for))
            .collect()
    };
    let (ten, eleven, noon) = (
        Some(wall("10:00:00")),
        Some(wall("11:00:00")),
        Some(wall("12:00:00")),
    );
    assert_eq!(
        caught("skipper"),
        [(Trigger::CatchUp, RunStatus::Skipped, noon)]
    );
    let skipped = h.runs("skipper").pop().unwrap();
    assert_eq!(
        skipped.reason.as_deref(),
        Some("3 fire time(s) missed while tend was down; missed = skip")
    );
    assert_eq!(
        caught("once"),
        [(Trigger::CatchUp, RunStatus::Succeeded, noon)]
    );
    assert_eq!(
        caught("all"),
        [ten, eleven, noon].map(|t| (Trigger::CatchUp, RunStatus::Succeeded, t))
    );
    // Concurrency holds for catch-up too: the first is still running.
    assert_eq!(
        caught("serial"),
        [
            (Trigger::CatchUp, RunStatus::Succeeded, ten),
            (Trigger::CatchUp, RunStatus::Skipped, eleven),
            (Trigger::CatchUp, RunStatus::Skipped, noon)
        ]
    );
    assert!(
        caught("fresh").is_empty(),
        "a job that never fired has nothing to catch up"
    );
    // Then the next instant fires once, on time, for every job.
    h.wait(30 * 60).await;
    for job in ["skipper", "once", "all", "serial", "fresh"] {
        let last = h.runs(job).pop().unwrap();
        assert_eq!(
            (last.trigger, last.scheduled_for),
            (Trigger::Cron, Some(wall("13:00:00"))),
            "{job}"
        );
        assert_eq!(
            last.started_at, last.scheduled_for,
            "{job} started on its instant"
        );
    }
    h.stop().await;
}

const LONG: &str = "jobs:
  - { name: forbid, command: [sleep, '1000'], concurrency: forbid }
  - { name: replace, command: [sleep, '1000'], concurrency: replace }
  - { name: allow, command: [sleep, '1000'], concurrency: allow }
";

#[tokio::test(start_paused = true)]
async fn concurrency_holds_for_manual_runs() {
    let h = start(LONG, "12:00:00", (RunStatus::Succeeded, true), &[]);
    for job in ["forbid", "replace", "allow"] {
        h.manual(job).await.unwrap();
        h.manual(job).await.unwrap();
    }
    h.wait(1).await;
    let statuses = |job: &str| h.runs(job).iter().map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(statuses("forbid"), [RunStatus::Running, RunStatus::Skipped]);
    let skipped = h.runs("forbid").pop().unwrap();
    assert!(
        skipped
            .reason
            .unwrap()
            .contains("still running (concurrency: forbid)"),
        "the skip says why"
    );
    assert_eq!(
        statuses("replace"),
        [RunStatus::Interrupted, RunStatus::Running]
    );
    assert_eq!(statuses("allow"), [RunStatus::Running, RunStatus::Running]);
    assert_eq!(h.manual("nope").await, Err(FireError::NoJob("nope".into())));
    assert_eq!(
        h.calls.lock().unwrap().len(),
        5,
        "the skipped run never started"
    );
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn failed_runs_retry_after_their_backoff_then_stop() {
    let yaml =
        "jobs:\n  - { name: flaky, command: ['false'], retries: { count: 2, backoff: 1m } }\n";
    let h = start(yaml, "12:00:00", (RunStatus::Failed, false), &[]);
    h.manual("flaky").await.unwrap();
    h.wait(10 * 60).await;
    let runs = h.runs("flaky");
    let got: Vec<(u32, Trigger, RunStatus)> = runs
        .iter()
        .map(|r| (r.attempt, r.trigger, r.status))
        .collect();
    assert_eq!(
        got,
        [
            (1, Trigger::Manual, RunStatus::Failed),
            (2, Trigger::Retry, RunStatus::Failed),
            (3, Trigger::Retry, RunStatus::Failed),
        ]
    );
    let gap = runs[1].started_at.unwrap() - runs[0].finished_at.unwrap();
    assert_eq!(gap.num_seconds(), 60, "the backoff is waited");
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_instant_fires_at_most_once_across_restarts() {
    let yaml =
        "jobs:\n  - { name: tick, schedule: '* * * * *', command: ['true'], missed: run-all }\n";
    // The previous tend already fired 12:00; a restart at 12:00:30 must not
    // fire it again, and fires 12:01 once.
    let h = start(
        yaml,
        "12:00:30",
        (RunStatus::Succeeded, false),
        &[("tick", "12:00:00")],
    );
    h.wait(45).await;
    let instants: Vec<_> = h.runs("tick").iter().map(|r| r.scheduled_for).collect();
    assert_eq!(instants, [Some(wall("12:00:00")), Some(wall("12:01:00"))]);
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_one_off_run_fires_once_and_a_past_one_follows_missed() {
    let at = |t: &str| wall(t).to_rfc3339();
    let yaml = format!(
        "jobs:\n  - {{ name: past, at: '{}', command: ['true'], missed: run-once, missed_window: 6h }}\n  - {{ name: later, at: '{}', command: ['true'] }}\n  - {{ name: done, at: '{}', command: ['true'] }}\n  - {{ name: stale, at: '{}', command: ['true'], missed_window: 6h }}\n",
        at("12:00:00"),
        at("12:40:00"),
        at("11:00:00"),
        at("02:00:00"),
    );
    let before = [("done", "11:00:00")];
    let h = start(&yaml, "12:30:00", (RunStatus::Succeeded, false), &before);
    h.wait(60 * 60).await;
    let runs = |job: &str| -> Vec<(Trigger, Option<DateTime<Utc>>)> {
        h.runs(job)
            .into_iter()
            .filter(|r| r.commit.as_deref() != Some("old"))
            .map(|r| (r.trigger, r.scheduled_for))
            .collect()
    };
    assert_eq!(runs("past"), [(Trigger::CatchUp, Some(wall("12:00:00")))]);
    assert_eq!(runs("later"), [(Trigger::Cron, Some(wall("12:40:00")))]);
    assert!(runs("done").is_empty(), "a one-off run that fired is done");
    assert!(runs("stale").is_empty(), "older than missed_window");
    h.stop().await;
}

const CHAIN: &str = "jobs:
  - { name: a, command: ['true'] }
  - { name: b, command: ['true'] }
  - { name: c, command: ['true'], after: [a, b] }
";

#[tokio::test(start_paused = true)]
async fn a_chain_runs_when_every_predecessor_succeeded_since_its_last_run() {
    let h = start(CHAIN, "12:00:00", (RunStatus::Succeeded, false), &[]);
    let c = |h: &Harness| h.runs("c").iter().map(|r| r.trigger).collect::<Vec<_>>();
    for (job, runs_of_c) in [("a", 0), ("b", 1), ("a", 1), ("a", 1), ("b", 2)] {
        h.manual(job).await.unwrap();
        h.wait(1).await;
        assert_eq!(c(&h).len(), runs_of_c, "after {job}");
    }
    assert!(c(&h).iter().all(|t| *t == Trigger::After));
    h.stop().await;

    let h = start(CHAIN, "12:00:00", (RunStatus::Failed, false), &[]);
    let id = h.manual("b").await.unwrap();
    h.wait(1).await;
    let skipped = h.runs("c").pop().expect("c is recorded");
    assert_eq!(skipped.status, RunStatus::Skipped);
    let reason = skipped.reason.unwrap_or_default();
    assert_eq!(reason, format!("after: job b ended failed (run #{id})"));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_chain_a_b_c_runs_c_exactly_once_per_success_of_a() {
    let yaml = "jobs:
  - { name: a, schedule: '* * * * *', command: [flip] }
  - { name: b, command: ['true'], after: [a] }
  - { name: c, command: ['true'], after: [b] }
";
    let h = start(yaml, "12:00:30", (RunStatus::Succeeded, false), &[]);
    h.wait(60 * 60).await;
    let count =
        |job: &str, status: RunStatus| h.runs(job).iter().filter(|r| r.status == status).count();
    let a_ok = count("a", RunStatus::Succeeded);
    assert_eq!(a_ok, 30, "a flips: {:?}", h.runs("a").len());
    assert_eq!(count("a", RunStatus::Failed), 30);
    assert_eq!(count("b", RunStatus::Succeeded), a_ok);
    assert_eq!(
        count("b", RunStatus::Skipped),
        30,
        "b skipped after each failure of a"
    );
    assert_eq!(
        count("c", RunStatus::Succeeded),
        a_ok,
        "c once per success of a"
    );
    assert_eq!(h.runs("c").len(), a_ok, "and never otherwise");
    h.stop().await;
}

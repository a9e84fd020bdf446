//! The scheduler with real processes and a real clock: a shared lock keeps
//! three every-second jobs from ever overlapping, a one-off `at` runs once
//! across ten kill -9 restarts, and the fire times `tend jobs --from`
//! previews are the ones the daemon fires.

use crate::runs::daemon;
use crate::support::{Dir, tend as cli};
use chrono::{DateTime, Utc};
use std::time::Duration;

fn time(run: &serde_json::Value, key: &str) -> Option<DateTime<Utc>> {
    let text = run[key].as_str()?;
    Some(DateTime::parse_from_rfc3339(text).ok()?.to_utc())
}

#[test]
fn three_every_second_jobs_sharing_a_lock_never_run_at_once() {
    let job = |n: &str| {
        format!(
            "  - {{ name: {n}, schedule: '* * * * * *', command: [sleep, '0.3'], lock: nas, concurrency: allow, timeout: 5s }}\n"
        )
    };
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        format!("jobs:\n{}{}{}", job("a"), job("b"), job("c")),
    );
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[]);
    let seen_waiting = std::cell::Cell::new(false);
    let runs = tend.wait_runs(Duration::from_secs(40), "45 runs", "limit=500", |r| {
        seen_waiting.set(seen_waiting.get() || r.iter().any(|r| r["status"] == "waiting"));
        r.iter().filter(|r| r["status"] == "succeeded").count() >= 45
    });
    let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>, String)> = runs
        .iter()
        .filter(|r| r["status"] == "succeeded")
        .map(|r| {
            let job = r["job"].as_str().unwrap_or("").to_owned();
            (
                time(r, "started_at").unwrap(),
                time(r, "finished_at").unwrap(),
                job,
            )
        })
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    let jobs: std::collections::BTreeSet<&str> = spans.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(jobs.len(), 3, "every job got turns: {jobs:?}");
    let queued = runs.iter().any(|r| {
        time(r, "started_at")
            .zip(time(r, "scheduled_for"))
            .is_some_and(|(s, f)| s - f > chrono::Duration::milliseconds(250))
    });
    assert!(
        seen_waiting.get() || queued,
        "runs of one second queue behind each other"
    );
}

#[test]
fn a_one_off_run_runs_once_across_ten_kill_9_restarts() {
    let folder = Dir::new();
    let at = (Utc::now() + chrono::Duration::seconds(6))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    folder.write(
        "jobs/j.yaml",
        format!(
            "jobs:\n  - {{ name: once, at: '{at}', command: [sleep, '0.5'], missed: run-once }}\n"
        ),
    );
    let data = Dir::new();
    for round in 0..10u64 {
        let mut tend = daemon(&folder, &data, &[], &[]);
        std::thread::sleep(Duration::from_millis(300 + (round * 397) % 900));
        tend.proc.crash();
    }
    let tend = daemon(&folder, &data, &[], &[]);
    let runs = tend.wait_runs(
        Duration::from_secs(20),
        "the one-off run",
        "job=once",
        |r| r.iter().any(|r| r["status"] != "running"),
    );
    std::thread::sleep(Duration::from_secs(2));
    let runs_now = tend.runs("job=once&limit=100");
    assert_eq!(runs_now.len(), 1, "one run, ever: {runs_now:#?}");
    assert_eq!(
        runs[0]["scheduled_for"].as_str(),
        Some(at.as_str()),
        "{runs:#?}"
    );
    let job = crate::support::http::get(tend.addr, "/api/v1/jobs/once").json();
    assert!(
        job["schedule_text"]
            .as_str()
            .unwrap_or("")
            .ends_with("(done)"),
        "{job}"
    );
}

#[test]
fn the_daemon_fires_at_the_instants_tend_jobs_previews() {
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        "jobs:
  - { name: two, schedule: '*/2 * * * * *', command: ['true'] }
  - { name: odd, schedule: '1-59/3 * * * * *', command: ['true'], timezone: Asia/Kolkata }
  - { name: jit, schedule: '*/5 * * * * *', jitter: 4s, command: ['true'] }
",
    );
    let from = Utc::now() + chrono::Duration::seconds(3);
    let stamp = from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let args = [
        "jobs", ".", "--from", &stamp, "--count", "8", "--format", "json",
    ];
    let preview: serde_json::Value =
        serde_json::from_str(&cli(folder.path(), &args).expect_code(0).stdout).unwrap();
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[]);
    for job in preview.as_array().unwrap() {
        let name = job["job"].as_str().unwrap();
        let next: Vec<DateTime<Utc>> = job["next"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                DateTime::parse_from_rfc3339(t.as_str().unwrap())
                    .unwrap()
                    .to_utc()
            })
            .collect();
        let last = *next.last().unwrap();
        let runs = tend.wait_runs(
            Duration::from_secs(60),
            name,
            &format!("job={name}&limit=100"),
            |r| {
                r.iter()
                    .any(|r| time(r, "scheduled_for").is_some_and(|t| t >= last))
            },
        );
        let mut fired: Vec<DateTime<Utc>> = runs
            .iter()
            .filter_map(|r| time(r, "scheduled_for"))
            .filter(|t| *t >= next[0] && *t <= last)
            .collect();
        fired.sort();
        assert_eq!(fired, next, "{name}");
    }
}

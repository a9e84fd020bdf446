//! The scheduler and runner with real processes: every-second command jobs
//! in a dev-mode folder, secrets redacted, timeouts that kill the whole
//! process group, concurrency `forbid`, retries, a crash mid-run (SIGKILL)
//! with catch-up on restart and no instant fired twice, and the
//! `tend history` / `tend trigger` commands.

use crate::support::procs::{Tend, wait_until};
use crate::support::{Dir, http, tend as cli};
use std::collections::HashSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// `tend run` on the dev-mode `folder`, its data and log under `data`.
pub(crate) fn daemon(folder: &Dir, data: &Dir, extra: &[&str], env: &[(&str, &str)]) -> Tend {
    let data_dir = data.path().join("data");
    let mut args = vec![
        "--source",
        folder.path().to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let log = data
        .path()
        .join(format!("tend-{}.log", crate::support::procs::free_port()));
    Tend::start_with_env(data.path(), &args, &log, env)
}

/// A dev-mode folder with `jobs/j.yaml` = `jobs`, followed by a daemon.
fn with_jobs(jobs: &str) -> (Dir, Dir, Tend) {
    let folder = Dir::new();
    folder.write("jobs/j.yaml", jobs);
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[]);
    (folder, data, tend)
}

fn statuses(runs: &[serde_json::Value]) -> Vec<&str> {
    runs.iter()
        .map(|r| r["status"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn every_second_jobs_run_on_time_with_secrets_redacted() {
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        "jobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n    command: [sh, -c, 'echo \"token=$TOKEN home=$HOME\"; env | sort']\n    env: { TOKEN: \"${env:TEND_TEST_SECRET}\" }\n",
    );
    let data = Dir::new();
    let tend = daemon(
        &folder,
        &data,
        &[],
        &[("TEND_TEST_SECRET", "s3cr3t-value-42"), ("TEND_OWN", "x")],
    );
    let runs = tend.wait_runs(WAIT, "three runs", "job=tick", |r| {
        r.iter().filter(|r| r["status"] == "succeeded").count() >= 3
    });
    let run = runs.iter().find(|r| r["status"] == "succeeded").unwrap();
    assert_eq!(run["trigger"], "cron");
    assert_eq!(run["exit_code"], 0);
    let scheduled =
        chrono::DateTime::parse_from_rfc3339(run["scheduled_for"].as_str().unwrap()).unwrap();
    let started =
        chrono::DateTime::parse_from_rfc3339(run["started_at"].as_str().unwrap()).unwrap();
    let lag = started - scheduled;
    assert!(
        lag >= chrono::Duration::zero() && lag < chrono::Duration::milliseconds(500),
        "lag {lag}"
    );
    let log = http::get(tend.addr, &format!("/api/v1/runs/{}/log", run["id"])).body;
    assert!(log.contains("token=***"), "{log}");
    assert!(!log.contains("s3cr3t-value-42"), "secret leaked: {log}");
    assert!(
        !log.contains("TEND_OWN") && !log.contains("TEND_TEST_SECRET"),
        "tend's own env leaked: {log}"
    );
    assert!(
        log.contains("LANG=C.UTF-8") && log.contains("TZ=UTC"),
        "{log}"
    );
}

#[test]
fn timeout_kills_the_process_group_and_forbid_skips() {
    let folder = Dir::new();
    let pidfile = folder.path().join("grandchild.pid");
    folder.write(
        "jobs/j.yaml",
        format!(
            "jobs:\n  - name: stuck\n    schedule: \"*/2 * * * * *\"\n    timeout: 1s\n    command: [sh, -c, 'sleep 300 & echo $! > {}; sleep 300']\n  - name: long\n    schedule: \"* * * * * *\"\n    command: [sleep, \"2.5\"]\n",
            pidfile.display()
        ),
    );
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[]);
    let runs = tend.wait_runs(WAIT, "a timed-out run", "job=stuck", |r| {
        r.iter().any(|r| r["status"] == "timed_out")
    });
    let timed_out = runs.iter().find(|r| r["status"] == "timed_out").unwrap();
    assert!(
        timed_out["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1s")
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(8), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()),
        "the background grandchild {pid} survived the timeout"
    );
    let runs = tend.wait_runs(WAIT, "skipped runs", "job=long&limit=20", |r| {
        r.iter().any(|r| r["status"] == "skipped")
    });
    let skipped = runs.iter().find(|r| r["status"] == "skipped").unwrap();
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("concurrency: forbid"),
        "{skipped}"
    );
}

#[test]
fn failed_runs_are_retried_then_recorded() {
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        "jobs:\n  - name: flaky\n    command: [sh, -c, 'echo failing; exit 3']\n    retries: { count: 2, backoff: 100ms }\n",
    );
    folder.write("token", "tok\n");
    let data = Dir::new();
    let token = folder.path().join("token");
    let tend = daemon(
        &folder,
        &data,
        &["--api-token-file", token.to_str().unwrap()],
        &[],
    );
    tend.wait_status(WAIT, "applied", |s| {
        !s["source"]["applied_commit"].is_null()
    });
    let api = format!("http://{}", tend.addr);
    let out = cli(
        data.path(),
        &[
            "trigger",
            "flaky",
            "--api",
            &api,
            "--token-file",
            token.to_str().unwrap(),
        ],
    )
    .expect_code(0);
    assert!(
        out.stdout.starts_with("started run 1 of flaky"),
        "{}",
        out.stdout
    );
    let runs = tend.wait_runs(WAIT, "three attempts", "job=flaky", |r| {
        r.len() == 3 && r.iter().all(|r| r["status"] != "running")
    });
    let triggers: Vec<&str> = runs
        .iter()
        .map(|r| r["trigger"].as_str().unwrap())
        .collect();
    assert_eq!(triggers, ["retry", "retry", "manual"]);
    assert_eq!(statuses(&runs), ["failed", "failed", "failed"]);
    assert_eq!(runs[0]["attempt"], 3);
    assert_eq!(runs[0]["reason"], "exited with code 3");
    let history = cli(data.path(), &["history", "--job", "flaky", "--api", &api]).expect_code(0);
    assert!(
        history.stdout.contains("flaky") && history.stdout.contains("exited with code 3"),
        "{}",
        history.stdout
    );
    let unknown = cli(
        data.path(),
        &[
            "trigger",
            "ghost",
            "--api",
            &api,
            "--token-file",
            token.to_str().unwrap(),
        ],
    );
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("no job `ghost`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn crash_mid_run_interrupts_it_and_restart_catches_up_once() {
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        "jobs:\n  - name: every2\n    schedule: \"*/2 * * * * *\"\n    command: [sleep, \"1.5\"]\n    missed: run-once\n    missed_window: 1h\n",
    );
    let data = Dir::new();
    let mut first = daemon(&folder, &data, &[], &[]);
    first.wait_runs(WAIT, "a running run", "job=every2", |r| {
        r.iter().any(|r| r["status"] == "running")
    });
    first.proc.crash();
    std::thread::sleep(Duration::from_secs(5));
    let second = daemon(&folder, &data, &[], &[]);
    let runs = second.wait_runs(
        WAIT,
        "interrupted and catch-up",
        "job=every2&limit=100",
        |r| {
            r.iter().any(|r| r["status"] == "interrupted")
                && r.iter().any(|r| r["trigger"] == "catch-up")
        },
    );
    let interrupted = runs.iter().find(|r| r["status"] == "interrupted").unwrap();
    assert_eq!(interrupted["reason"], "tend stopped while it ran");
    let catch_ups = runs.iter().filter(|r| r["trigger"] == "catch-up").count();
    assert_eq!(catch_ups, 1, "run-once catches up once: {runs:#?}");
    let crons = |r: &[serde_json::Value]| r.iter().filter(|r| r["trigger"] == "cron").count();
    let before = crons(&runs);
    let runs = second.wait_runs(WAIT, "two more cron runs", "job=every2&limit=200", |r| {
        crons(r) >= before + 2
    });
    let mut seen = HashSet::new();
    for r in runs
        .iter()
        .filter(|r| r["trigger"] != "retry" && r["trigger"] != "manual")
    {
        let instant = r["scheduled_for"].as_str().unwrap().to_owned();
        assert!(
            seen.insert(instant.clone()),
            "instant {instant} fired twice: {runs:#?}"
        );
    }
}

#[test]
fn metrics_count_runs_and_show_the_source() {
    let (_folder, _data, tend) = with_jobs(
        "jobs:\n  - name: good\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n  - name: bad\n    schedule: \"* * * * * *\"\n    command: [\"false\"]\n",
    );
    tend.wait_runs(WAIT, "runs of both jobs", "limit=50", |r| {
        let done =
            |job: &str, status: &str| r.iter().any(|r| r["job"] == job && r["status"] == status);
        done("good", "succeeded") && done("bad", "failed")
    });
    let mut text = String::new();
    let ok = wait_until(WAIT, || {
        text = http::get(tend.addr, "/metrics").body;
        text.contains("tend_job_runs_total{job=\"bad\",status=\"failed\"}")
            && text.contains("tend_job_runs_total{job=\"good\",status=\"succeeded\"}")
    });
    assert!(ok, "{text}");
    assert!(
        text.contains("tend_job_duration_seconds_count{job=\"good\"}"),
        "{text}"
    );
    assert!(
        text.contains("tend_job_last_success_timestamp_seconds{job=\"good\"}"),
        "{text}"
    );
    assert!(
        !text.contains("tend_job_last_success_timestamp_seconds{job=\"bad\"}"),
        "{text}"
    );
    assert!(text.contains("tend_config_valid 1"), "{text}");
    assert!(text.contains("tend_source_fetch_errors_total 0"), "{text}");
    let fetched = text
        .lines()
        .find_map(|l| l.strip_prefix("tend_source_last_fetch_timestamp_seconds "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap();
    let now = chrono::Utc::now().timestamp() as f64;
    assert!(
        (now - fetched).abs() < 60.0,
        "last fetch {fetched} vs now {now}"
    );
    assert!(
        text.trim_end().ends_with("# EOF"),
        "OpenMetrics text ends with # EOF"
    );
}

#[test]
fn the_stream_announces_runs_and_commits() {
    let (folder, _data, tend) = with_jobs(
        "jobs:\n  - name: tick\n    schedule: \"* * * * * *\"\n    command: [\"true\"]\n",
    );
    let mut stream = http::Stream::open(tend.addr);
    let mut wrote: Option<usize> = None;
    let ok = wait_until(WAIT, || {
        stream.poll();
        if wrote.is_none() && stream.seen.contains("event: run-finished") {
            folder.write(
                "jobs/k.yaml",
                "jobs:\n  - name: tock\n    command: [\"true\"]\n",
            );
            wrote = Some(stream.seen.len());
        }
        // The commit made by the edit above, not the one applied at start.
        wrote.is_some_and(|at| stream.seen[at..].contains("event: commit-applied"))
    });
    let seen = stream.seen;
    assert!(ok, "{seen}");
    assert!(seen.contains("content-type: text/event-stream"), "{seen}");
    assert!(
        seen.contains("event: run-started\ndata: {\"type\":\"run-started\""),
        "{seen}"
    );
    assert!(
        seen.contains("\"job\":\"tick\",\"status\":\"succeeded\""),
        "{seen}"
    );
}

#[test]
fn a_job_shows_its_success_rate_streak_and_next_fire_times() {
    let (_folder, _data, tend) = with_jobs(
        "jobs:\n  - name: sulk\n    schedule: \"* * * * * *\"\n    command: [\"false\"]\n",
    );
    tend.wait_runs(WAIT, "three failed runs", "job=sulk&status=failed", |r| {
        r.len() >= 3
    });
    let job: serde_json::Value =
        serde_json::from_str(&http::get(tend.addr, "/api/v1/jobs/sulk").body).unwrap();
    assert_eq!(job["success_rate"], 0.0, "{job:#}");
    assert!(job["consecutive_failures"].as_u64() >= Some(3), "{job:#}");
    let recent = job["recent"].as_array().unwrap();
    assert!(
        recent.len() >= 3 && recent.iter().all(|o| o["status"] == "failed"),
        "{job:#}"
    );
    let upcoming: Vec<chrono::DateTime<chrono::Utc>> = job["upcoming"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(upcoming.len(), 5, "{job:#}");
    assert!(
        upcoming
            .windows(2)
            .all(|w| (w[1] - w[0]).num_seconds() == 1),
        "{upcoming:?}"
    );
    assert_eq!(http::get(tend.addr, "/api/v1/jobs/ghost").status, 404);
    let page = http::get(tend.addr, "/jobs/sulk").body;
    assert!(page.contains("failed in a row"), "{page}");
}

#[test]
fn no_page_or_api_response_shows_a_secret() {
    let secret = "pa55-W0rd-that-must-not-leak";
    let folder = Dir::new();
    folder.write(
        "jobs/j.yaml",
        "jobs:\n  - name: leaky\n    schedule: \"* * * * * *\"\n    command: [sh, -c, 'echo \"token=$TOKEN\"; echo \"$TOKEN\" >&2; exit 1']\n    env: { TOKEN: \"${env:TEND_TEST_SECRET}\" }\n",
    );
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[("TEND_TEST_SECRET", secret)]);
    let runs = tend.wait_runs(WAIT, "a finished run", "job=leaky", |r| {
        r.iter().any(|r| r["status"] == "failed")
    });
    let id = runs.iter().find(|r| r["status"] == "failed").unwrap()["id"].clone();
    let log = http::get(tend.addr, &format!("/api/v1/runs/{id}/log")).body;
    assert!(
        log.contains("token=***"),
        "the log shows where the secret was: {log}"
    );
    for path in [
        "/".to_owned(),
        format!("/runs/{id}"),
        format!("/api/v1/runs/{id}"),
        format!("/api/v1/runs/{id}/log"),
        "/api/v1/runs".to_owned(),
        "/api/v1/jobs".to_owned(),
        "/jobs/leaky".to_owned(),
        "/api/v1/jobs/leaky".to_owned(),
        "/api/v1/status".to_owned(),
        "/api/v1/events".to_owned(),
        "/api/v1/stacks".to_owned(),
        "/metrics".to_owned(),
    ] {
        let body = http::get(tend.addr, &path).body;
        assert!(!body.is_empty(), "{path} answered");
        assert!(!body.contains(secret), "{path} shows the secret:\n{body}");
    }
}

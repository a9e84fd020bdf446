//! Alerts from a running daemon to HTTP recorders on 127.0.0.1 (standing in
//! for Discord, ntfy, …): one alert per failure streak, one recovery, no
//! secret from the log in the message, a link under `public_url`; retries
//! after 500s, `429` + `Retry-After`, a `404` marked failed; and an alert
//! queued before a SIGKILL delivered once after the restart.

use crate::support::Dir;
use crate::support::http::get;
use crate::support::procs::{Tend, free_port, wait_until};
use crate::support::recorder::{Recorder, Seen};
use std::time::Duration;

/// Starts tend on `d/repo` (dev mode) with data in `d/data`, manual runs
/// on (token `tok`) and quick notification retries.
fn start(d: &Dir, env: &[(&str, &str)]) -> Tend {
    d.write("token", "tok\n");
    let p = |rel: &str| d.path().join(rel).to_str().unwrap().to_owned();
    let args = [
        "--source",
        &p("repo"),
        "--data",
        &p("data"),
        "--api-token-file",
        &p("token"),
        "--notify-backoff",
        "200ms",
    ];
    let tend = Tend::start_with_env(d.path(), &args, &d.path().join("tend.log"), env);
    tend.wait_status(Duration::from_secs(20), "a commit applied", |s| {
        !s["source"]["applied_commit"].is_null()
    });
    tend
}

fn wait_seen(rec: &Recorder, n: usize, tend: &Tend) -> Vec<Seen> {
    let ok = wait_until(Duration::from_secs(20), || rec.seen().len() >= n);
    assert!(
        ok,
        "{} request(s), wanted {n}: {:#?}\nlog:\n{}",
        rec.seen().len(),
        rec.seen(),
        tend.log_text()
    );
    rec.seen()
}

/// `GET /api/v1/notifications` once every one has settled (none pending).
fn settled(tend: &Tend, count: usize) -> Vec<serde_json::Value> {
    let mut list = Vec::new();
    let ok = wait_until(Duration::from_secs(20), || {
        list = get(tend.addr, "/api/v1/notifications").json()["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.len() == count && list.iter().all(|n| n["state"] != "pending")
    });
    assert!(ok, "notifications: {list:#?}\nlog:\n{}", tend.log_text());
    list
}

#[test]
fn one_alert_per_failure_streak_one_recovery_and_no_secret() {
    let rec = Recorder::start(vec![]);
    let d = Dir::new();
    let flag = d.path().join("healthy");
    let toml = format!(
        r#"public_url = "http://tend.example/"
[[notify]]
url = "json://{a}/hook"
on = ["failure", "recovery"]
[[notify]]
url = "json://{a}/config"
on = ["config-error"]
"#,
        a = rec.addr
    );
    d.write("repo/tend.toml", &toml);
    let job = format!(
        r#"jobs:
  - name: flaky
    schedule: "* * * * * *"
    command: [sh, -c, 'echo "token=$SECRET"; test -e {}']
    env:
      SECRET: "${{env:FLAKY_SECRET}}"
"#,
        flag.display()
    );
    d.write("repo/jobs/flaky.yaml", &job);
    let secret = "hunter2-do-not-leak";
    let tend = start(&d, &[("FLAKY_SECRET", secret)]);
    tend.wait_runs(
        Duration::from_secs(30),
        "six failed runs",
        "job=flaky&status=failed&limit=50",
        |r| r.len() >= 6,
    );
    let seen = wait_seen(&rec, 1, &tend);
    assert_eq!(seen.len(), 1, "later failures are held back: {seen:#?}");
    let alert = seen[0].json();
    assert_eq!(seen[0].path, "/hook");
    assert_eq!(alert["title"], "tend: flaky failed");
    assert_eq!(alert["type"], "failure");
    let message = alert["message"].as_str().unwrap();
    assert!(message.contains("token=***"), "{message}");
    assert!(message.contains("http://tend.example/runs/"), "{message}");
    assert!(message.contains("(exit 1)"), "{message}");
    assert!(!seen[0].body.contains(secret), "{}", seen[0].body);

    std::fs::write(&flag, "").unwrap();
    tend.wait_runs(
        Duration::from_secs(20),
        "three succeeded runs",
        "job=flaky&status=succeeded&limit=50",
        |r| r.len() >= 3,
    );
    let seen = wait_seen(&rec, 2, &tend);
    assert_eq!(seen.len(), 2, "one recovery: {seen:#?}");
    let recovery = seen[1].json();
    assert_eq!(recovery["title"], "tend: flaky succeeded");
    assert_eq!(recovery["type"], "success");
    assert!(
        recovery["message"]
            .as_str()
            .unwrap()
            .contains("5 more since the last alert"),
        "{recovery:#}"
    );

    // A broken commit alerts the rule that asked for config errors; the
    // fix sends no recovery to a rule that was never told of the problem.
    d.write("repo/jobs/flaky.yaml", "jobs: [ {name: 1}");
    let seen = wait_seen(&rec, 3, &tend);
    assert_eq!(seen[2].path, "/config");
    assert_eq!(seen[2].json()["title"], "tend: config rejected");
    d.write("repo/jobs/flaky.yaml", &job);
    tend.wait_event(5, "commit-applied");
    // The event's alerts are queued in its transaction: had the fix caused
    // one, the outbox would hold a fourth now.
    let list = settled(&tend, 3);
    assert!(list.iter().all(|n| n["state"] == "sent"), "{list:#?}");
    assert!(list.iter().all(|n| n["attempts"] == 1), "{list:#?}");
    assert_eq!(rec.seen().len(), 3, "{:#?}", rec.seen());
    assert_eq!(list[2]["event"], "failure");
    assert_eq!(list[2]["target"], format!("json://{}/…", rec.addr));
    let metrics = get(tend.addr, "/metrics").body;
    assert!(
        metrics.contains(r#"tend_notifications_total{channel="json",outcome="sent"} 3"#),
        "{metrics}"
    );
    let page = get(tend.addr, "/events").body;
    assert!(page.contains("Notifications"), "{page}");
}

#[test]
fn retries_after_errors_honour_retry_after_and_mark_failures() {
    let flaky = Recorder::start(vec![(500, ""), (500, "")]);
    let busy = Recorder::start(vec![(429, "Retry-After: 1")]);
    let gone = Recorder::start(vec![(404, "")]);
    let d = Dir::new();
    let mut toml = String::new();
    for (rec, path) in [(&flaky, "a"), (&busy, "b"), (&gone, "c")] {
        toml += &format!("[[notify]]\nurl = \"json://{}/{path}\"\n", rec.addr);
    }
    d.write("repo/tend.toml", &toml);
    d.write(
        "repo/jobs/boom.yaml",
        "jobs:\n  - name: boom\n    command: [sh, -c, 'exit 3']\n",
    );
    let tend = start(&d, &[]);
    let (run, _) = tend.run_job("boom", Duration::from_secs(20));
    assert_eq!(run["status"], "failed");
    let a = wait_seen(&flaky, 3, &tend);
    let b = wait_seen(&busy, 2, &tend);
    let c = wait_seen(&gone, 1, &tend);
    let waited = b[1].at - b[0].at;
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert!(a[2].at - a[0].at < Duration::from_secs(5));
    assert_eq!(a[2].json(), a[0].json(), "the same alert each time");
    let list = settled(&tend, 3);
    let by = |path: &str| {
        let target = match path {
            "a" => flaky.addr,
            "b" => busy.addr,
            _ => gone.addr,
        };
        let target = format!("json://{target}/…");
        list.iter().find(|n| n["target"] == target).unwrap().clone()
    };
    assert_eq!(
        (by("a")["state"].clone(), by("a")["attempts"].clone()),
        ("sent".into(), 3.into())
    );
    assert_eq!(
        (by("b")["state"].clone(), by("b")["attempts"].clone()),
        ("sent".into(), 2.into())
    );
    let failed = by("c");
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["last_status"], 404);
    assert!(failed["last_error"].as_str().unwrap().contains("404"));
    // `failed` is final: the one attempt is all there will be.
    assert_eq!(failed["attempts"], 1, "a 404 is not retried");
    assert_eq!(gone.seen().len(), 1, "a 404 is not retried");
    assert_eq!(c.len(), 1);
    let metrics = get(tend.addr, "/metrics").body;
    for line in [
        r#"tend_notifications_total{channel="json",outcome="retry"} 3"#,
        r#"tend_notifications_total{channel="json",outcome="sent"} 2"#,
        r#"tend_notifications_total{channel="json",outcome="failed"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
    let page = get(tend.addr, "/events").body;
    assert!(page.contains("answered 404"), "{page}");
}

#[test]
fn an_alert_queued_before_sigkill_is_delivered_once_after_restart() {
    let port = free_port();
    let d = Dir::new();
    d.write(
        "repo/tend.toml",
        format!("[[notify]]\nurl = \"json://127.0.0.1:{port}/hook\"\n"),
    );
    d.write(
        "repo/jobs/boom.yaml",
        "jobs:\n  - name: boom\n    command: [sh, -c, 'exit 3']\n",
    );
    let mut tend = start(&d, &[]);
    tend.run_job("boom", Duration::from_secs(20));
    let mut list = Vec::new();
    let tried = wait_until(Duration::from_secs(20), || {
        list = get(tend.addr, "/api/v1/notifications").json()["notifications"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        list.first()
            .is_some_and(|n| n["attempts"].as_u64() >= Some(1))
    });
    assert!(tried, "{list:#?}\n{}", tend.log_text());
    assert_eq!(list[0]["state"], "pending");
    assert!(
        list[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("no answer")
    );
    tend.proc.crash();

    let rec = Recorder::start_on(format!("127.0.0.1:{port}").parse().unwrap(), vec![]);
    let tend = start(&d, &[]);
    let seen = wait_seen(&rec, 1, &tend);
    assert_eq!(seen[0].json()["title"], "tend: boom failed");
    let list = settled(&tend, 1);
    // `sent` is final: no attempt follows the one the recorder saw.
    assert_eq!(list[0]["state"], "sent");
    assert_eq!(rec.seen().len(), 1, "delivered once");
}

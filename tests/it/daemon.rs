//! `tend run` against real git remotes (file:// and `git daemon`): first
//! clone, new commits by webhook and by poll, invalid commits kept out,
//! force pushes, a remote that goes away and comes back, a data dir deleted
//! while stopped, a corrupt clone, and graceful shutdown mid-fetch.

use crate::support::procs::{Tend, free_port, git_daemon, wait_until};
use crate::support::{Dir, Remote, http, project};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn applied(s: &serde_json::Value) -> &str {
    s["source"]["applied_commit"].as_str().unwrap_or("")
}

fn start(remote_url: &str, data: &Dir, extra: &[&str]) -> Tend {
    let data_dir = data.path().join("data");
    let mut args = vec!["--source", remote_url, "--data", data_dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    Tend::start(
        data.path(),
        &args,
        &data
            .path()
            .join(format!("tend-{}.log", crate::support::procs::free_port())),
    )
}

fn webhook(tend: &Tend, secret: &str, body: &str) -> u16 {
    let sig = format!(
        "sha256={}",
        tend::web::webhook::sign(secret.as_bytes(), body.as_bytes())
    );
    http::request(
        tend.addr,
        "POST",
        "/hooks/git",
        &[("X-Hub-Signature-256", &sig)],
        body.as_bytes(),
    )
    .expect("webhook answered")
    .status
}

#[test]
fn follows_commits_and_keeps_invalid_ones_out() {
    let remote = Remote::with(&project().join("example-repo"), "initial config");
    let first = crate::support::git(&remote.work(), &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    let data = Dir::new();
    data.write("secret", "s3cret\n");
    let secret_file = data.path().join("secret");
    let tend = start(
        &remote.url(),
        &data,
        &[
            "--poll-interval",
            "1h",
            "--webhook-secret-file",
            secret_file.to_str().unwrap(),
        ],
    );
    let s = tend.wait_status(WAIT, "first commit applied", |s| applied(s) == first);
    assert_eq!(s["source"]["branch"], "main");
    assert_eq!(s["source"]["applied_summary"], "initial config");
    assert_eq!(s["desired"]["jobs"], 5);
    assert_eq!(http::get(tend.addr, "/readyz").status, 200);

    remote.write(
        "jobs/extra.yaml",
        "jobs:\n  - name: hello\n    command: [echo, hi]\n",
    );
    let second = remote.commit_push("add hello job");
    assert_eq!(
        webhook(&tend, "s3cret", r#"{"ref":"refs/heads/main"}"#),
        202
    );
    let s = tend.wait_status(WAIT, "second commit applied", |s| applied(s) == second);
    assert_eq!(s["desired"]["jobs"], 6);

    remote.write(
        "jobs/broken.yaml",
        "jobs:\n  - name: oops\n    schedule: \"0 3 * *\"\n    command: [echo]\n",
    );
    let bad = remote.commit_push("broken schedule");
    webhook(&tend, "s3cret", "{}");
    let s = tend.wait_status(WAIT, "bad commit rejected", |s| {
        s["source"]["fetched_commit"] == bad.as_str()
    });
    assert_eq!(applied(&s), second, "the last good commit stays in force");
    let errors = s["config_errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{s:#}");
    assert_eq!(
        (
            errors[0]["file"].as_str(),
            errors[0]["line"].as_u64(),
            errors[0]["column"].as_u64()
        ),
        (Some("jobs/broken.yaml"), Some(3), Some(15))
    );
    assert_eq!(tend.event_kinds(1), vec!["config-error"]);
    assert_eq!(
        http::get(tend.addr, "/readyz").status,
        200,
        "a rejected commit does not make tend unready"
    );

    std::fs::remove_file(remote.work().join("jobs/broken.yaml")).unwrap();
    let fixed = remote.commit_push("fix schedule");
    webhook(&tend, "s3cret", "{}");
    let s = tend.wait_status(WAIT, "fixed commit applied", |s| applied(s) == fixed);
    assert!(s["config_errors"].as_array().unwrap().is_empty());

    let events = http::get(tend.addr, "/api/v1/events?limit=3").json();
    let newest = &events["events"][0];
    assert_eq!(newest["kind"], "commit-applied");
    assert_eq!(newest["commit"], fixed.as_str());
    assert!(
        newest["reason"].as_str().unwrap().contains("fix schedule"),
        "{newest}"
    );
    assert!(
        newest["reason"].as_str().unwrap().contains("webhook"),
        "{newest}"
    );
}

#[test]
fn force_push_is_followed_and_recorded() {
    let remote = Remote::with(&project().join("example-repo"), "initial");
    remote.commit_push("second");
    let data = Dir::new();
    let tend = start(&remote.url(), &data, &["--poll-interval", "1s"]);
    let tip = crate::support::git(&remote.work(), &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    tend.wait_status(WAIT, "tip applied", |s| applied(s) == tip);
    let rewritten = remote.rewrite_last("rewritten second");
    tend.wait_status(WAIT, "rewritten tip applied", |s| applied(s) == rewritten);
    let kinds = tend.event_kinds(2);
    assert_eq!(kinds, vec!["commit-applied", "history-rewritten"]);
}

#[test]
fn remote_down_then_back_keeps_the_commit_in_force() {
    let remote = Remote::with(&project().join("example-repo"), "initial");
    let port = free_port();
    let mut gitd = Some(git_daemon(remote.dir.path(), port));
    let url = format!("git://127.0.0.1:{port}/remote.git");
    let data = Dir::new();
    let tend = start(&url, &data, &["--poll-interval", "1s"]);
    let first = crate::support::git(&remote.work(), &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    tend.wait_status(WAIT, "applied over git://", |s| applied(s) == first);

    gitd.take().unwrap().terminate(Duration::from_secs(5));
    let s = tend.wait_status(WAIT, "fetch error reported", |s| {
        !s["source"]["last_fetch_error"].is_null()
    });
    assert_eq!(applied(&s), first);
    tend.wait_event(5, "fetch-failed");

    let _gitd = git_daemon(remote.dir.path(), port);
    let second = remote.commit_push("while it was down");
    let s = tend.wait_status(Duration::from_secs(30), "recovered", |s| {
        applied(s) == second
    });
    assert!(s["source"]["last_fetch_error"].is_null());
    tend.wait_event(5, "fetch-recovered");
}

#[test]
fn restart_restores_last_good_and_recovers_a_deleted_data_dir() {
    let remote = Remote::with(&project().join("example-repo"), "initial");
    let first = crate::support::git(&remote.work(), &["rev-parse", "HEAD"])
        .trim()
        .to_owned();
    let data = Dir::new();
    let mut tend = start(&remote.url(), &data, &["--poll-interval", "1s"]);
    tend.wait_status(WAIT, "applied", |s| applied(s) == first);
    assert_eq!(
        tend.proc.terminate(Duration::from_secs(15)),
        Some(0),
        "clean exit on SIGTERM"
    );

    // Remote gone: the restarted daemon still has the last good commit in force.
    let gone = format!("file://{}/nowhere.git", data.path().display());
    let tend = start(&gone, &data, &["--poll-interval", "1s"]);
    let s = tend.wait_status(WAIT, "fetch error after restart", |s| {
        !s["source"]["last_fetch_error"].is_null()
    });
    assert_eq!(applied(&s), first, "restored from the store");
    drop(tend);

    std::fs::remove_dir_all(data.path().join("data")).unwrap();
    let second = remote.commit_push("after data loss");
    let tend = start(&remote.url(), &data, &["--poll-interval", "1s"]);
    tend.wait_status(WAIT, "re-cloned and applied", |s| applied(s) == second);
}

#[test]
fn corrupt_clone_is_cloned_again() {
    let remote = Remote::with(&project().join("example-repo"), "initial");
    let data = Dir::new();
    let tend = start(&remote.url(), &data, &["--poll-interval", "1s"]);
    tend.wait_status(WAIT, "applied", |s| !applied(s).is_empty());
    let objects = data.path().join("data/repo.git/objects");
    std::fs::remove_dir_all(&objects).unwrap();
    std::fs::write(&objects, "not a folder").unwrap();
    let second = remote.commit_push("after corruption");
    tend.wait_status(WAIT, "applied after re-clone", |s| applied(s) == second);
    tend.wait_event(5, "recloned");
}

#[test]
fn shutdown_mid_fetch_is_graceful() {
    let remote = Remote::with(&project().join("example-repo"), "initial");
    // ~40 MB of incompressible data makes the first fetch take a while.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..40 << 20)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect();
    remote.write("blob.bin", noise);
    remote.commit_push("big blob");
    let port = free_port();
    let _gitd = git_daemon(remote.dir.path(), port);
    let data = Dir::new();
    let mut tend = start(
        &format!("git://127.0.0.1:{port}/remote.git"),
        &data,
        &["--poll-interval", "1h", "--shutdown-grace", "5s"],
    );
    assert!(wait_until(Duration::from_secs(10), || data
        .path()
        .join("data/repo.git")
        .exists()));
    let started = std::time::Instant::now();
    let code = tend.proc.terminate(Duration::from_secs(10));
    assert_eq!(code, Some(0), "log:\n{}", tend.log_text());
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert!(tend.log_text().contains("stopped"), "{}", tend.log_text());
    // The store is intact and the next start completes the fetch.
    let tend = start(
        &format!("git://127.0.0.1:{port}/remote.git"),
        &data,
        &["--poll-interval", "1h"],
    );
    tend.wait_status(Duration::from_secs(60), "applied after restart", |s| {
        !applied(s).is_empty()
    });
}

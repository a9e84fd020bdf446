//! Sources beyond plain git: dev mode (a plain folder, watched), ssh to a
//! loopback sshd with known_hosts checks, and hostile repositories (a
//! symlink pointing out, a 10,000-file tree).

use crate::support::procs::{Tend, free_port, keygen, sshd};
use crate::support::{Dir, Remote, project};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// tend following the git remote `url` with its data in `data`.
fn follow(url: &str, data: &Dir, poll: &str) -> Tend {
    let data_dir = data.path().join("data");
    let args = [
        "--source",
        url,
        "--data",
        data_dir.to_str().unwrap(),
        "--poll-interval",
        poll,
    ];
    Tend::start(data.path(), &args, &data.path().join("tend.log"))
}

fn applied(s: &serde_json::Value) -> String {
    s["source"]["applied_commit"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[test]
fn dev_mode_applies_folder_edits_as_they_are() {
    let folder = Dir::copy_of(&project().join("example-repo"));
    let data = Dir::new();
    let data_dir = data.path().join("data");
    let tend = Tend::start(
        data.path(),
        &[
            "--source",
            folder.path().to_str().unwrap(),
            "--data",
            data_dir.to_str().unwrap(),
        ],
        &data.path().join("tend.log"),
    );
    let s = tend.wait_status(WAIT, "folder applied", |s| !applied(s).is_empty());
    assert_eq!(s["source"]["mode"], "directory");
    assert_eq!(s["source"]["uncommitted"], true);
    assert_eq!(s["desired"]["jobs"], 5);
    let first = applied(&s);

    folder.write(
        "jobs/new.yaml",
        "jobs:\n  - name: added\n    command: [echo, hi]\n",
    );
    let s = tend.wait_status(WAIT, "edit applied", |s| s["desired"]["jobs"] == 6);
    assert_ne!(applied(&s), first);

    folder.write(
        "jobs/new.yaml",
        "jobs:\n  - name: added\n    comand: [echo, hi]\n",
    );
    let s = tend.wait_status(WAIT, "bad edit rejected", |s| {
        !s["config_errors"].as_array().unwrap().is_empty()
    });
    assert_eq!(s["config_errors"][0]["file"], "jobs/new.yaml");
    assert_eq!(s["config_errors"][0]["line"], 3);
    assert_eq!(s["desired"]["jobs"], 6, "the last good state stays");
}

#[test]
fn ssh_remote_with_known_hosts() {
    let remote = Remote::with(&project().join("example-repo"), "over ssh");
    let keys = Dir::new();
    let user_key = keys.path().join("id_ed25519");
    keygen(&user_key);
    let port = free_port();
    let _sshd = sshd(keys.path(), port, &keys.path().join("id_ed25519.pub"));
    let url = format!("ssh://root@127.0.0.1:{port}{}", remote.bare().display());
    let known = keys.path().join("known_hosts");
    std::fs::write(&known, "").unwrap();
    let data = Dir::new();
    let data_dir = data.path().join("data");
    let base = |extra: &[&str]| {
        let mut args = vec![
            "--source",
            url.as_str(),
            "--data",
            data_dir.to_str().unwrap(),
            "--poll-interval",
            "1s",
            "--ssh-key",
            user_key.to_str().unwrap(),
            "--known-hosts",
            known.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let start = |args: Vec<String>, log: &str| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Tend::start(data.path(), &refs, &data.path().join(log))
    };

    let tend = start(base(&[]), "unknown.log");
    let s = tend.wait_status(WAIT, "unknown host refused", |s| {
        !s["source"]["last_fetch_error"].is_null()
    });
    assert!(
        s["source"]["last_fetch_error"]
            .as_str()
            .unwrap()
            .contains("is not in"),
        "{s:#}"
    );
    assert!(s["source"]["applied_commit"].is_null());
    drop(tend);

    let tend = start(base(&["--ssh-accept-new"]), "accept.log");
    tend.wait_status(WAIT, "applied over ssh", |s| !applied(s).is_empty());
    let recorded = std::fs::read_to_string(&known).unwrap();
    assert!(
        recorded.starts_with(&format!("[127.0.0.1]:{port} ssh-ed25519 ")),
        "{recorded}"
    );
    drop(tend);

    // Same host, different key: refused even with --ssh-accept-new.
    let other = keys.path().join("other_host_key");
    keygen(&other);
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let fake: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        &known,
        format!("[127.0.0.1]:{port} {} {}\n", fake[0], fake[1]),
    )
    .unwrap();
    let tend = start(base(&["--ssh-accept-new"]), "mismatch.log");
    let s = tend.wait_status(WAIT, "changed key refused", |s| {
        !s["source"]["last_fetch_error"].is_null()
    });
    assert!(
        s["source"]["last_fetch_error"]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{s:#}"
    );
}

#[test]
fn symlink_out_of_the_repo_is_rejected_not_followed() {
    let remote = Remote::with(&project().join("example-repo"), "good");
    let data = Dir::new();
    let tend = follow(&remote.url(), &data, "1s");
    let good = applied(&tend.wait_status(WAIT, "applied", |s| !applied(s).is_empty()));
    std::fs::remove_file(remote.work().join("playbooks/backup.yml")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", remote.work().join("playbooks/backup.yml")).unwrap();
    let bad = remote.commit_push("point the playbook outside");
    let s = tend.wait_status(WAIT, "symlink commit rejected", |s| {
        s["source"]["fetched_commit"] == bad.as_str()
    });
    assert_eq!(applied(&s), good);
    let msg = s["config_errors"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("symlink that points outside the repository"),
        "{s:#}"
    );
}

#[test]
fn ten_thousand_files_are_handled() {
    let remote = Remote::new();
    crate::support::copy_tree(&project().join("example-repo"), &remote.work());
    for i in 0..10_000 {
        remote.write(
            &format!("files/{:02}/f{i}.txt", i % 100),
            format!("file {i}\n"),
        );
    }
    let commit = remote.commit_push("10,000 files");
    let data = Dir::new();
    let started = Instant::now();
    let tend = follow(&remote.url(), &data, "1h");
    let data_dir = data.path().join("data");
    tend.wait_status(Duration::from_secs(60), "large tree applied", |s| {
        applied(s) == commit
    });
    let took = started.elapsed();
    let snapshot = data_dir
        .join("snapshots")
        .join(&commit)
        .join("files/42/f4242.txt");
    assert_eq!(std::fs::read_to_string(snapshot).unwrap(), "file 4242\n");
    eprintln!("10,000-file repository cloned, materialised and validated in {took:?}");
}

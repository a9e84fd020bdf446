//! The data of stacks across an upgrade and a removal: the state in the
//! previous release's bind copies (`DATA/binds/<digest>/…`) is carried into
//! the working directories before any container is recreated; a stack
//! removed from git keeps its working directory and volumes unless it set
//! `x-tend.remove_data`.

use crate::stacks::repo;
use crate::support::Dir;
use crate::support::docker::{PrivateEngine, docker, docker_try, eventually, shared_for};
use crate::support::procs::{Tend, wait_until};
use std::path::Path;
use std::time::Duration;

/// The compose file both releases read.
const UP: &str = "services:\n  app:\n    image: localhost/busybox:v1\n    command: [sh, -c, \"date >> /config/state.db; exec sleep 100000\"]\n    init: true\n    volumes: [./config:/config]\n";

/// Starts `up-app-1` as the previous release left it: tend's labels, its
/// relative bind mounted from a content-addressed copy under `data/binds`.
fn previous_release(host: &str, data: &Path) -> std::path::PathBuf {
    let copy = data.join("binds/5e1f0c2a9b3d4e6f7a8b9c0d/config");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join("app.conf"), "line=0\n").unwrap();
    let mount = format!("{}:/config", copy.display());
    docker(
        host,
        &[
            "run",
            "-d",
            "--init",
            "--name",
            "up-app-1",
            "--label",
            "com.docker.compose.project=up",
            "--label",
            "com.docker.compose.service=app",
            "--label",
            "com.docker.compose.container-number=1",
            "--label",
            "tend.managed=true",
            "--label",
            "tend.config-hash=0123456789ab",
            "--label",
            "tend.image=localhost/busybox:v1",
            "--label",
            "tend.restart=no",
            "-v",
            &mount,
            "localhost/busybox:v1",
            "sh",
            "-c",
            "date >> /config/state.db; exec sleep 100000",
        ],
    );
    docker(
        host,
        &[
            "exec",
            "up-app-1",
            "sh",
            "-c",
            "echo years of history >> /config/state.db",
        ],
    );
    copy
}

#[test]
fn upgrading_from_bind_copies_loses_nothing() {
    let (host, _clean) = shared_for(&["up"]);
    let repo = repo(&host, false);
    repo.write("stacks/up/config/app.conf", "line=0\n");
    repo.write("stacks/up/compose.yaml", UP);
    let data = Dir::new();
    let old = previous_release(&host, &data.path().join("data"));
    let t = Tend::follow(repo.path(), &data);
    eventually("the container recreated on the working directory", || {
        let (ok, src) = docker_try(
            &host,
            &[
                "inspect",
                "-f",
                "{{range .Mounts}}{{.Source}}{{end}} {{.State.Running}}",
                "up-app-1",
            ],
        );
        ok && src.contains("/stacks/local/up/config") && src.ends_with("true")
    });
    let state = docker(&host, &["exec", "up-app-1", "cat", "/config/state.db"]);
    assert!(
        state.contains("years of history"),
        "{state}\n{}",
        t.log_text()
    );
    assert_eq!(
        state.lines().count(),
        3,
        "old start, history, new start: {state}"
    );
    // The old copies go once nothing mounts them.
    repo.write(
        "jobs/nudge.yaml",
        "jobs:\n  - name: nudge\n    command: [\"true\"]\n",
    );
    let gone = wait_until(Duration::from_secs(30), || !old.exists());
    assert!(gone, "old copies kept: {}", t.log_text());
    assert!(
        docker(&host, &["exec", "up-app-1", "cat", "/config/state.db"])
            .contains("years of history")
    );
}

#[test]
fn a_removed_stack_keeps_its_data_unless_it_asked_otherwise() {
    let root = Dir::new();
    let engine = PrivateEngine::start(
        &root.path().join("e"),
        "tendbr4",
        "10.216.0.1/24",
        "10.225.0.0/16",
    );
    let repo = repo(&engine.host, true);
    let file = |extra: &str| {
        format!(
            "{extra}services:\n  app:\n    image: localhost/busybox:v1\n    command: [sh, -c, \"echo kept > /data/x; exec sleep 100000\"]\n    init: true\n    volumes: [./data:/data, cache:/cache]\nvolumes:\n  cache:\n"
        )
    };
    repo.write("stacks/keep/compose.yaml", file(""));
    repo.write(
        "stacks/wipe/compose.yaml",
        file("x-tend:\n  remove_data: true\n"),
    );
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    let work = data.path().join("data/stacks/local");
    eventually("both stacks wrote their data", || {
        work.join("keep/data/x").exists() && work.join("wipe/data/x").exists()
    });
    std::fs::remove_dir_all(repo.path().join("stacks/keep")).unwrap();
    std::fs::remove_dir_all(repo.path().join("stacks/wipe")).unwrap();
    let ok = wait_until(Duration::from_secs(40), || {
        t.events(50)
            .iter()
            .filter(|(k, _)| k == "stack-removed")
            .count()
            == 2
    });
    assert!(ok, "{:?}\n{}", t.events(50), t.log_text());
    let events = t.events(50);
    let kept = events
        .iter()
        .find(|(k, r)| k == "stack-removed" && r.starts_with("stack keep:"))
        .unwrap();
    assert!(
        kept.1
            .contains(&format!("data kept in {}", work.join("keep").display())),
        "{kept:?}"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("keep/data/x")).unwrap(),
        "kept\n"
    );
    let volumes = docker(&engine.host, &["volume", "ls", "-q"]);
    assert!(volumes.contains("keep_cache"), "{volumes}");
    assert!(!volumes.contains("wipe_cache"), "{volumes}");
    assert!(!work.join("wipe").exists());
    assert!(docker(&engine.host, &["ps", "-aq"]).is_empty());
}

//! Stacks against a real dockerd: `tend plan` / `tend apply` through the
//! lifecycle of a stack (deploy, no-op, env and image changes, drift by
//! hand, removed services, stopped/absent, sleep windows, dependencies).

use crate::support::docker::{containers, docker, docker_try, eventually, inspect, shared_for};
use crate::support::{Dir, tend};

/// A config folder whose `local` host is `engine`.
pub fn repo(engine: &str, prune: bool) -> Dir {
    let dir = Dir::new();
    dir.write(
        "tend.toml",
        format!("[reconcile]\nprune = {prune}\n\n[hosts.local]\ndocker = \"{engine}\"\n"),
    );
    dir
}

/// A two-service stack: `db` (healthy once a file exists) and `app` (an
/// httpd on `port` that waits for db to be healthy).
pub fn web_stack(image: &str, greeting: &str, port: u16, extra: &str) -> String {
    format!(
        r#"services:
  db:
    image: localhost/busybox:v1
    command: ["sh", "-c", "touch /tmp/ok; exec sleep 3600"]
    init: true
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ok"]
      interval: 1s
      retries: 3
  app:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    environment: {{ GREETING: {greeting} }}
    ports: ["127.0.0.1:{port}:8080"]
    init: true
    depends_on:
      db: {{ condition: service_healthy }}
    volumes: [data:/www]
{extra}volumes:
  data:
"#
    )
}

fn plan(dir: &Dir, code: i32) -> String {
    tend(dir.path(), &["plan", "."]).expect_code(code).stdout
}

fn apply(dir: &Dir) -> serde_json::Value {
    let run = tend(dir.path(), &["apply", ".", "--format", "json"]).expect_code(0);
    serde_json::from_str(&run.stdout).unwrap()
}

fn http_ok(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn stack_lifecycle_through_plan_and_apply() {
    let (host, _clean) = shared_for(&["life"]);
    let port = crate::support::procs::free_port();
    let dir = repo(&host, false);
    let file = "stacks/life/compose.yaml";
    dir.write(file, web_stack("localhost/busybox:v1", "hello", port, ""));

    let out = plan(&dir, 2);
    assert!(out.contains("+ create db: new stack"), "{out}");
    assert!(out.contains("+ create network default"), "{out}");
    let first = apply(&dir);
    assert!(first["mutating_calls"].as_u64().unwrap() >= 6, "{first:#}");
    assert_eq!(containers(&host, "life"), ["life-app-1", "life-db-1"]);
    let labels = inspect(&host, "life-app-1", "{{json .Config.Labels}}");
    let labels: serde_json::Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["com.docker.compose.project"], "life");
    assert_eq!(labels["com.docker.compose.service"], "app");
    assert_eq!(labels["com.docker.compose.container-number"], "1");
    assert_eq!(labels["tend.managed"], "true");
    assert_eq!(labels["tend.config-hash"].as_str().unwrap().len(), 12);
    // app was started only once db was healthy.
    assert_eq!(
        inspect(&host, "life-db-1", "{{.State.Health.Status}}"),
        "healthy"
    );
    eventually("the published port", || http_ok(port));

    // In sync: an empty plan, and applying it makes no mutating call.
    assert!(plan(&dir, 0).contains("no changes"));
    assert_eq!(apply(&dir)["mutating_calls"], 0);

    // An environment change recreates app only, and says which field.
    dir.write(file, web_stack("localhost/busybox:v1", "bonjour", port, ""));
    let out = plan(&dir, 2);
    assert!(
        out.contains("~ recreate app: new commit working-tree: environment changed"),
        "{out}"
    );
    assert!(!out.contains("recreate db"), "{out}");
    apply(&dir);
    let env = inspect(&host, "life-app-1", "{{json .Config.Env}}");
    assert!(env.contains("GREETING=bonjour"), "{env}");

    // An image change names both images.
    dir.write(file, web_stack("localhost/busybox:v2", "bonjour", port, ""));
    let out = plan(&dir, 2);
    assert!(
        out.contains("image localhost/busybox:v1 → localhost/busybox:v2"),
        "{out}"
    );
    apply(&dir);
    assert_eq!(
        docker(&host, &["exec", "life-app-1", "cat", "/VERSION"]),
        "2"
    );

    // Drift by hand: stopped, renamed, removed.
    docker(&host, &["stop", "-t", "1", "life-app-1"]);
    assert!(plan(&dir, 2).contains("> start app: drift: container stopped outside tend"));
    apply(&dir);
    assert_eq!(inspect(&host, "life-app-1", "{{.State.Status}}"), "running");
    docker(&host, &["rename", "life-db-1", "mine"]);
    assert!(plan(&dir, 2).contains("~ rename db: drift: renamed to mine outside tend"));
    apply(&dir);
    assert_eq!(containers(&host, "life"), ["life-app-1", "life-db-1"]);
    docker(&host, &["rm", "-f", "life-app-1"]);
    assert!(plan(&dir, 2).contains("+ create app:"));
    apply(&dir);
    eventually("the port after re-creation", || http_ok(port));

    // A service added, then removed from the file.
    let extra = "  extra:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"600\"]\n    init: true\n";
    dir.write(
        file,
        web_stack("localhost/busybox:v2", "bonjour", port, extra),
    );
    assert!(plan(&dir, 2).contains("+ create extra: new service"));
    apply(&dir);
    dir.write(file, web_stack("localhost/busybox:v2", "bonjour", port, ""));
    let out = plan(&dir, 2);
    assert!(
        out.contains("- remove extra: service extra is no longer in the compose file"),
        "{out}"
    );
    apply(&dir);
    assert_eq!(containers(&host, "life"), ["life-app-1", "life-db-1"]);

    // state: stopped keeps the containers, stopped; absent removes them.
    let stopped = format!(
        "x-tend:\n  state: stopped\n{}",
        web_stack("localhost/busybox:v2", "bonjour", port, "")
    );
    dir.write(file, &stopped);
    assert!(plan(&dir, 2).contains("■ stop app: x-tend.state is stopped"));
    apply(&dir);
    assert_eq!(inspect(&host, "life-app-1", "{{.State.Status}}"), "exited");
    assert!(plan(&dir, 0).contains("no changes"));
    dir.write(file, stopped.replace("state: stopped", "state: absent"));
    apply(&dir);
    assert!(containers(&host, "life").is_empty());
    let (_, nets) = docker_try(
        &host,
        &[
            "network",
            "ls",
            "-q",
            "--filter",
            "label=com.docker.compose.project=life",
        ],
    );
    assert_eq!(nets, "", "the stack's network is removed too");
    let (_, vols) = docker_try(&host, &["volume", "ls", "-q", "--filter", "name=life_data"]);
    assert_eq!(vols, "life_data", "named volumes (data) are kept");
}

#[test]
fn sleep_window_stops_and_wakes_by_the_clock() {
    let (host, _clean) = shared_for(&["sleepy"]);
    let dir = repo(&host, false);
    dir.write(
        "stacks/sleepy/compose.yaml",
        "x-tend:\n  sleep: { from: \"0 1 * * *\", to: \"0 7 * * *\" }\nservices:\n  app:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n",
    );
    let noon = "2026-06-01T12:00:00Z";
    let night = "2026-06-01T03:00:00Z";
    tend(dir.path(), &["apply", ".", "--at", noon]).expect_code(0);
    assert_eq!(
        inspect(&host, "sleepy-app-1", "{{.State.Status}}"),
        "running"
    );
    let out = tend(dir.path(), &["plan", ".", "--at", night])
        .expect_code(2)
        .stdout;
    assert!(out.contains("(sleeping, out-of-sync)"), "{out}");
    assert!(
        out.contains("■ stop app: sleep window (from `0 1 * * *` to `0 7 * * *`)"),
        "{out}"
    );
    tend(dir.path(), &["apply", ".", "--at", night]).expect_code(0);
    assert_eq!(
        inspect(&host, "sleepy-app-1", "{{.State.Status}}"),
        "exited"
    );
    tend(dir.path(), &["plan", ".", "--at", night]).expect_code(0);
    let out = tend(dir.path(), &["plan", ".", "--at", noon])
        .expect_code(2)
        .stdout;
    assert!(
        out.contains("> start app: sleep window (from `0 1 * * *` to `0 7 * * *`) is over"),
        "{out}"
    );
    tend(dir.path(), &["apply", ".", "--at", noon]).expect_code(0);
    assert_eq!(
        inspect(&host, "sleepy-app-1", "{{.State.Status}}"),
        "running"
    );
}

#[test]
fn unhealthy_dependency_blocks_its_dependents_and_fails_the_apply() {
    let (host, _clean) = shared_for(&["sick"]);
    let dir = repo(&host, false);
    dir.write(
        "stacks/sick/compose.yaml",
        r#"services:
  db:
    image: localhost/busybox:v1
    command: ["sleep", "3600"]
    init: true
    healthcheck: { test: ["CMD", "false"], interval: 1s, timeout: 1s, retries: 1 }
  app:
    image: localhost/busybox:v1
    command: ["sleep", "3600"]
    init: true
    depends_on: { db: { condition: service_healthy } }
"#,
    );
    let started = std::time::Instant::now();
    let run = tend(dir.path(), &["apply", "."]).expect_code(1);
    assert!(started.elapsed().as_secs() < 30, "gave up in time");
    assert!(
        run.stdout
            .contains("create app: FAILED: dependency db did not become healthy"),
        "{}",
        run.stdout
    );
    assert_eq!(containers(&host, "sick"), ["sick-db-1"]);
    assert!(
        run.stdout.contains("stack sick is not in sync"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_container_tend_did_not_create_is_never_touched() {
    let (host, _clean) = shared_for(&["clash"]);
    // Same name and compose project as tend would use, but not tend's.
    docker(
        &host,
        &[
            "run",
            "-d",
            "--name",
            "clash-app-1",
            "--label",
            "com.docker.compose.project=clash",
            "--label",
            "com.docker.compose.service=app",
            "localhost/busybox:v1",
            "sleep",
            "600",
        ],
    );
    let id = inspect(&host, "clash-app-1", "{{.Id}}");
    let dir = repo(&host, false);
    dir.write(
        "stacks/clash/compose.yaml",
        "services:\n  app:\n    image: localhost/busybox:v2\n    command: [\"sleep\", \"600\"]\n",
    );
    let run = tend(dir.path(), &["apply", "."]).expect_code(1);
    assert!(
        run.stdout
            .contains("container name clash-app-1 is taken by a container tend did not create"),
        "{}",
        run.stdout
    );
    assert_eq!(inspect(&host, "clash-app-1", "{{.Id}}"), id);
    assert_eq!(
        inspect(&host, "clash-app-1", "{{.State.Status}}"),
        "running"
    );
}

//! Stacks under `tend run` with a real dockerd: self-heal from Docker
//! events and its brake on a crash loop, stack jobs (stop stays stopped,
//! start, update through a real local registry), and engines that go away
//! and come back, on two hosts with prune.

use crate::stacks::repo;
use crate::support::docker::{
    PrivateEngine, containers, docker, docker_try, eventually, inspect, shared_for,
};
use crate::support::procs::{Proc, Tend, free_port, wait_until};
use crate::support::{Dir, tend};
use std::process::{Command, Stdio};
use std::time::Duration;

/// `tend run` following `repo` with manual runs on (token `tok`).
fn daemon(repo: &Dir, data: &Dir) -> Tend {
    Tend::follow(repo.path(), data)
}

fn count(t: &Tend, kind: &str, stack: &str) -> usize {
    let prefix = format!("stack {stack}:");
    t.events(200)
        .iter()
        .filter(|(k, r)| k == kind && r.starts_with(&prefix))
        .count()
}

#[test]
fn drift_is_healed_and_a_crash_loop_trips_the_brake() {
    let (host, _clean) = shared_for(&["heal", "crashy", "moody"]);
    let repo = repo(&host, false);
    let alerts = crate::support::recorder::Recorder::start(vec![]);
    let toml = std::fs::read_to_string(repo.path().join("tend.toml")).unwrap();
    let rule = format!(
        "\n[[notify]]\nurl = \"json://{}/stacks\"\non = [\"degraded\", \"recovery\"]\n",
        alerts.addr
    );
    repo.write("tend.toml", toml + &rule);
    repo.write(
        "stacks/heal/compose.yaml",
        "services:\n  app:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n",
    );
    repo.write(
        "stacks/crashy/compose.yaml",
        "services:\n  boom:\n    image: localhost/busybox:v1\n    command: [\"sh\", \"-c\", \"sleep 0.3; exit 3\"]\n",
    );
    // Unhealthy for its first seconds, then healthy.
    repo.write(
        "stacks/moody/compose.yaml",
        r#"services:
  app:
    image: localhost/busybox:v1
    command: ["sh", "-c", "sleep 4; touch /tmp/ok; exec sleep 3600"]
    init: true
    healthcheck: { test: ["CMD", "test", "-f", "/tmp/ok"], interval: 1s, timeout: 1s, retries: 1 }
"#,
    );
    let data = Dir::new();
    let t = daemon(&repo, &data);
    t.wait_stack("heal", "heal synced", |s| s["sync"] == "synced");
    let s = t.stack("heal");
    assert_eq!(s["services"][0]["container"], "heal-app-1", "{s:#}");
    assert_eq!(s["services"][0]["state"], "running");
    assert_eq!(s["desired_state"], "running");
    assert_eq!(s["host"], "local");
    let metrics = crate::support::http::get(t.addr, "/metrics").body;
    assert!(
        metrics.contains("tend_stack_sync{stack=\"heal\",status=\"synced\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tend_stack_sync{stack=\"heal\",status=\"degraded\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("tend_reconcile_duration_seconds_count"),
        "{metrics}"
    );

    // Stopped by hand: the events stream brings it back, with the reason.
    docker(&host, &["stop", "-t", "1", "heal-app-1"]);
    eventually("heal-app-1 running again", || {
        inspect(&host, "heal-app-1", "{{.State.Status}}") == "running"
    });
    let s = t.wait_stack("heal", "last plan", |s| {
        s["last_plan"]["changes"][0]["action"] == "start"
    });
    assert_eq!(
        s["last_plan"]["changes"][0]["reason"],
        "drift: container stopped outside tend"
    );

    // The crash loop: a few heals, then the brake holds and the stack is degraded.
    let s = t.wait_stack("crashy", "crashy degraded", |s| {
        s["sync"] == "degraded"
            && s["error"]
                .as_str()
                .unwrap_or("")
                .contains("self-heal gave up")
    });
    assert_eq!(s["services"][0]["state"], "exited", "{s:#}");
    // One deploy and five heals (a heal may fail when the container exits
    // again while being started: that is an apply-failed event).
    let tries = |t: &Tend| count(t, "stack-applied", "crashy") + count(t, "apply-failed", "crashy");
    let applied = tries(&t);
    assert_eq!(applied, 1 + 5, "{:#?}", t.events(50));
    assert_eq!(count(&t, "degraded", "crashy"), 1);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count(&t, "stack-applied", "crashy"),
        applied,
        "no restart storm"
    );
    // An unhealthy container makes its stack degraded (told once), and
    // in sync again when it turns healthy.
    eventually("moody told degraded and recovered", || {
        t.events(200)
            .iter()
            .any(|(k, r)| k == "stack-recovered" && r == "stack moody is in sync again")
    });
    let degraded: Vec<String> = t
        .events(200)
        .into_iter()
        .filter(|(k, r)| k == "degraded" && r.starts_with("stack moody:"))
        .map(|(_, r)| r)
        .collect();
    assert_eq!(degraded, ["stack moody: failing: app"]);
    // The healthy stack is unaffected.
    assert_eq!(t.stack("heal")["sync"], "synced");
    // Alerts: each degraded stack once, and moody's recovery.
    let told = wait_until(Duration::from_secs(20), || alerts.seen().len() >= 3);
    std::thread::sleep(Duration::from_millis(500));
    let mut titles: Vec<String> = alerts
        .seen()
        .iter()
        .map(|s| s.json()["title"].as_str().unwrap_or("").to_owned())
        .collect();
    titles.sort();
    assert!(told, "{titles:?}");
    assert_eq!(
        titles,
        [
            "tend: stack crashy degraded",
            "tend: stack moody degraded",
            "tend: stack moody in sync"
        ]
    );
}

#[test]
fn stack_jobs_stop_start_and_update_through_a_registry() {
    let (host, _clean) = shared_for(&["jobby"]);
    let reg_dir = Dir::new();
    let port = free_port();
    reg_dir.write(
        "config.yml",
        format!(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}/data\nhttp:\n  addr: 127.0.0.1:{port}\n",
            reg_dir.path().display()
        ),
    );
    let child = Command::new("docker-registry")
        .args(["serve", reg_dir.path().join("config.yml").to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("docker-registry is missing: run scripts/setup");
    let _registry = Proc {
        child,
        name: "docker-registry".into(),
    };
    eventually("the registry", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let image = format!("127.0.0.1:{port}/tend/app:live");
    docker(&host, &["tag", "localhost/busybox:v1", &image]);
    docker(&host, &["push", &image]);

    let repo = repo(&host, false);
    repo.write(
        "stacks/jobby/compose.yaml",
        format!("services:\n  app:\n    image: {image}\n    command: [\"sleep\", \"3600\"]\n    init: true\n"),
    );
    repo.write(
        "jobs/stack.yaml",
        "jobs:\n  - name: halt\n    stack: jobby\n    action: stop\n  - name: resume\n    stack: jobby\n    action: start\n  - name: refresh\n    stack: jobby\n    action: update\n  - name: nap\n    stack: jobby\n    action: pause\n  - name: wake\n    stack: jobby\n    action: unpause\n  - name: bounce\n    stack: jobby\n    action: restart\n",
    );
    let data = Dir::new();
    let t = daemon(&repo, &data);
    t.wait_stack("jobby", "jobby synced", |s| s["sync"] == "synced");

    let limit = Duration::from_secs(60);
    let passes = t.stack_passes();
    let (run, log) = t.run_job("halt", limit);
    assert_eq!(run["status"], "succeeded", "{run:#}\n{log}");
    assert!(log.contains("jobby-app-1: stopped"), "{log}");
    assert_eq!(inspect(&host, "jobby-app-1", "{{.State.Status}}"), "exited");
    // The stop event triggers a reconcile; the job's stop holds.
    t.wait_passes(passes, 1);
    assert_eq!(inspect(&host, "jobby-app-1", "{{.State.Status}}"), "exited");
    assert_eq!(t.stack("jobby")["sync"], "synced");
    let (run, log) = t.run_job("resume", limit);
    assert_eq!(run["status"], "succeeded", "{log}");
    assert_eq!(
        inspect(&host, "jobby-app-1", "{{.State.Status}}"),
        "running"
    );
    // Paused by a job: not unpaused as drift; unpaused by a job.
    let passes = t.stack_passes();
    let (run, log) = t.run_job("nap", limit);
    assert_eq!(run["status"], "succeeded", "{log}");
    assert!(log.contains("jobby-app-1: paused"), "{log}");
    t.wait_passes(passes, 1);
    let state = |t: &str| inspect(&host, "jobby-app-1", t);
    assert_eq!(state("{{.State.Status}}"), "paused");
    assert_eq!(t.stack("jobby")["sync"], "synced");
    let (run, log) = t.run_job("wake", limit);
    assert!(log.contains("jobby-app-1: unpaused"), "{run:#} {log}");
    assert_eq!(state("{{.State.Status}}"), "running");
    let before = state("{{.State.StartedAt}}");
    let (run, log) = t.run_job("bounce", limit);
    assert!(log.contains("jobby-app-1: restarted"), "{run:#} {log}");
    assert_ne!(state("{{.State.StartedAt}}"), before);
    assert_eq!(state("{{.State.Status}}"), "running");

    // A new image behind the same tag, only in the registry: push v2 under
    // another tag and point `live` at its manifest through the registry API
    // (retagging locally would let a pass see the new image before the job).
    let v2 = format!("127.0.0.1:{port}/tend/app:v2");
    docker(&host, &["tag", "localhost/busybox:v2", &v2]);
    docker(&host, &["push", &v2]);
    let addr = format!("127.0.0.1:{port}");
    let kind = "application/vnd.docker.distribution.manifest.v2+json";
    let get = tend::web::client::request(
        &addr,
        "GET",
        "/v2/tend/app/manifests/v2",
        &[("Accept", kind)],
        b"",
    )
    .unwrap();
    assert_eq!(get.status, 200, "{}", get.body);
    let put = tend::web::client::request(
        &addr,
        "PUT",
        "/v2/tend/app/manifests/live",
        &[("Content-Type", kind)],
        get.body.as_bytes(),
    )
    .unwrap();
    assert_eq!(put.status, 201, "{}", put.body);
    let (run, log) = t.run_job("refresh", limit);
    assert_eq!(run["status"], "succeeded", "{log}");
    assert!(log.contains("new image"), "{log}");
    assert!(log.contains("reconcile: recreate app: image"), "{log}");
    assert_eq!(
        docker(&host, &["exec", "jobby-app-1", "cat", "/VERSION"]),
        "2"
    );
    let (run, log) = t.run_job("refresh", limit);
    assert_eq!(run["status"], "succeeded", "{log}");
    assert!(
        log.contains("unchanged") && !log.contains("recreate"),
        "{log}"
    );
    // The last plan of a stack survives a restart of tend.
    drop(t);
    let t = daemon(&repo, &data);
    let s = t.wait_stack("jobby", "jobby after restart", |s| s["sync"] == "synced");
    let change = &s["last_plan"]["changes"][0];
    assert_eq!(change["action"], "recreate", "{s:#}");
}

fn two_host_repo(a: &str, b: &str, prune: bool) -> String {
    format!(
        "[reconcile]\nprune = {prune}\n\n[hosts.a]\ndocker = \"{a}\"\n\n[hosts.b]\ndocker = \"{b}\"\n"
    )
}

const SLEEPER: &str = "services:\n  app:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n";

#[test]
fn two_hosts_prune_and_an_engine_that_stops_and_comes_back() {
    let root = Dir::new();
    let a = PrivateEngine::start(
        &root.path().join("a"),
        "tendbr1",
        "10.213.0.1/24",
        "10.222.0.0/16",
    );
    let b = PrivateEngine::start(
        &root.path().join("b"),
        "tendbr2",
        "10.214.0.1/24",
        "10.223.0.0/16",
    );
    let repo = Dir::new();
    repo.write("tend.toml", two_host_repo(&a.host, &b.host, true));
    repo.write(
        "stacks/one/compose.yaml",
        format!("x-tend:\n  host: a\n{SLEEPER}"),
    );
    repo.write(
        "stacks/two/compose.yaml",
        format!("x-tend:\n  host: b\n{SLEEPER}"),
    );
    tend(repo.path(), &["apply", "."]).expect_code(0);
    assert_eq!(containers(&a.host, "one"), ["one-app-1"]);
    assert_eq!(containers(&b.host, "two"), ["two-app-1"]);
    assert!(containers(&a.host, "two").is_empty());

    // Engine b stops: its stack is unknown, the other is planned as usual.
    b.stop();
    let started = std::time::Instant::now();
    let out = tend(repo.path(), &["plan", "."]).expect_code(1).stdout;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "no hang on a dead engine"
    );
    assert!(out.contains("stack one on a (running, synced)"), "{out}");
    assert!(out.contains("stack two on b (running, unknown)"), "{out}");

    // The daemon shows the same, then recovers when the engine is back.
    let data = Dir::new();
    let t = daemon(&repo, &data);
    let s = t.wait_stack("two", "two unknown", |s| s["sync"] == "unknown");
    assert!(s["error"].as_str().unwrap().contains("host b"), "{s:#}");
    assert_eq!(t.stack("one")["sync"], "synced");
    t.wait_event(20, "host-unreachable");
    b.restart();
    t.wait_stack("two", "two synced after the engine restart", |s| {
        s["sync"] == "synced"
    });
    t.wait_event(20, "host-recovered");
    assert_eq!(
        inspect(&b.host, "two-app-1", "{{.State.Status}}"),
        "running"
    );
    drop(t);

    // A stack removed from the repository: left alone with prune off, removed with it on.
    std::fs::remove_dir_all(repo.path().join("stacks/two")).unwrap();
    repo.write("tend.toml", two_host_repo(&a.host, &b.host, false));
    let out = tend(repo.path(), &["plan", "."]).expect_code(0).stdout;
    assert!(out.contains("stack two on b (unmanaged, synced)"), "{out}");
    assert_eq!(containers(&b.host, "two"), ["two-app-1"]);
    // A container of the same project that tend did not create stays.
    docker(
        &b.host,
        &[
            "run",
            "-d",
            "--name",
            "mine",
            "--label",
            "com.docker.compose.project=two",
            "localhost/busybox:v1",
            "sleep",
            "600",
        ],
    );
    repo.write("tend.toml", two_host_repo(&a.host, &b.host, true));
    let out = tend(repo.path(), &["plan", "."]).expect_code(2).stdout;
    assert!(
        out.contains("- remove app: stack is no longer in the repository (prune is on)"),
        "{out}"
    );
    tend(repo.path(), &["apply", "."]).expect_code(0);
    assert_eq!(containers(&b.host, "two"), ["mine"]);
    let filter = "label=com.docker.compose.project=two";
    let (_, nets) = docker_try(&b.host, &["network", "ls", "-q", "--filter", filter]);
    assert_eq!(nets, "");
    assert_eq!(
        containers(&a.host, "one"),
        ["one-app-1"],
        "other stacks stay"
    );
}

#[test]
fn with_self_heal_off_drift_is_reported_and_left() {
    let (host, _clean) = shared_for(&["manual"]);
    let repo = repo(&host, false);
    let toml = std::fs::read_to_string(repo.path().join("tend.toml")).unwrap();
    repo.write(
        "tend.toml",
        toml.replace("prune = false", "prune = false\nself_heal = false"),
    );
    repo.write("stacks/manual/compose.yaml", SLEEPER);
    let data = Dir::new();
    let t = daemon(&repo, &data);
    t.wait_stack("manual", "manual synced", |s| s["sync"] == "synced");
    let mut stream = crate::support::http::Stream::open(t.addr);
    let passes = t.stack_passes();
    docker(&host, &["stop", "-t", "1", "manual-app-1"]);
    let s = t.wait_stack("manual", "manual out of sync", |s| {
        s["sync"] == "out-of-sync"
    });
    // The page learns of it through the stream.
    let announced = "event: stack-changed\ndata: {\"type\":\"stack-changed\",\"stack\":\"manual\",\"sync\":\"out-of-sync\"}";
    let heard = wait_until(Duration::from_secs(10), || {
        stream.poll();
        stream.seen.contains(announced)
    });
    assert!(heard, "{}", stream.seen);
    assert_eq!(s["services"][0]["state"], "exited", "{s:#}");
    t.wait_event(20, "drift");
    let drift: Vec<String> = t
        .events(20)
        .into_iter()
        .filter(|(k, _)| k == "drift")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(
        drift,
        ["stack manual: drift: container stopped outside tend (self_heal is off)"]
    );
    // The pass that told the drift and the second look after the event.
    t.wait_passes(passes, 2);
    assert_eq!(
        inspect(&host, "manual-app-1", "{{.State.Status}}"),
        "exited"
    );
    // `tend apply` is an explicit request: it converges.
    tend(repo.path(), &["apply", "."]).expect_code(0);
    assert_eq!(
        inspect(&host, "manual-app-1", "{{.State.Status}}"),
        "running"
    );
}

#[test]
fn a_tcp_host_with_mutual_tls() {
    let root = Dir::new();
    let (engine, tcp) =
        PrivateEngine::with_tls(root.path(), "tendbr3", "10.215.0.1/24", "10.224.0.0/16");
    let certs = root.path().join("certs");
    let repo = Dir::new();
    let toml = |ca: &str| {
        format!(
            "[hosts.secure]\ndocker = \"tcp://{tcp}\"\ntls = {{ ca = \"${{file:{ca}}}\", cert = \"{}\", key = \"${{env:TEND_TEST_TLS_KEY}}\" }}\n",
            certs.join("cert.pem").display()
        )
    };
    repo.write("tend.toml", toml(certs.join("ca.pem").to_str().unwrap()));
    repo.write(
        "stacks/sealed/compose.yaml",
        format!("x-tend:\n  host: secure\n{SLEEPER}"),
    );
    let key = std::fs::read_to_string(certs.join("key.pem")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tend"))
            .args(args)
            .current_dir(repo.path())
            .env("TEND_TEST_TLS_KEY", &key)
            .output()
            .unwrap()
    };
    let out = run(&["apply", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(containers(&engine.host, "sealed"), ["sealed-app-1"]);
    assert_eq!(
        inspect(&engine.host, "sealed-app-1", "{{.State.Status}}"),
        "running"
    );

    // A CA that did not sign the engine's certificate: refused, named.
    let other = root.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    crate::support::docker::tls_material(&other);
    repo.write("tend.toml", toml(other.join("ca.pem").to_str().unwrap()));
    let out = run(&["plan", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("stack sealed on secure (running, unknown)"),
        "{text}"
    );
    assert!(text.to_lowercase().contains("certificate"), "{text}");
}

#[test]
fn relative_binds_mount_the_working_directory_and_follow_its_files() {
    let (host, _clean) = shared_for(&["site"]);
    let repo = repo(&host, false);
    repo.write("stacks/site/www/index.html", "v1\n");
    repo.write(
        "stacks/site/compose.yaml",
        "services:\n  web:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n    volumes: [\"./www:/www:ro\"]\n",
    );
    let data = Dir::new();
    let t = daemon(&repo, &data);
    t.wait_stack("site", "site synced", |s| s["sync"] == "synced");
    let id = inspect(&host, "site-web-1", "{{.Id}}");
    assert_eq!(
        docker(&host, &["exec", "site-web-1", "cat", "/www/index.html"]),
        "v1"
    );
    let source = inspect(&host, "site-web-1", "{{(index .Mounts 0).Source}}");
    assert!(
        source.ends_with("/stacks/local/site/www"),
        "mounted from the stack's working directory: {source}"
    );

    // A commit that does not touch the files leaves the container alone.
    let applied = |t: &Tend| t.status()["source"]["applied_commit"].clone();
    let before = applied(&t);
    repo.write(
        "jobs/other.yaml",
        "jobs:\n  - name: noop\n    command: [\"true\"]\n",
    );
    eventually("the new commit applied", || applied(&t) != before);
    t.wait_synced("site");
    assert_eq!(inspect(&host, "site-web-1", "{{.Id}}"), id);

    // New content: a new container that sees it, with the reason.
    repo.write("stacks/site/www/index.html", "v2\n");
    // While it is replaced the name may briefly not exist: ask, don't insist.
    eventually("the container recreated", || {
        let (found, now) = docker_try(&host, &["inspect", "-f", "{{.Id}}", "site-web-1"]);
        found && now != id
    });
    eventually("the new content", || {
        docker_try(&host, &["exec", "site-web-1", "cat", "/www/index.html"]).1 == "v2"
    });
    let s = t.wait_stack("site", "last plan", |s| {
        s["last_plan"]["changes"]
            .to_string()
            .contains("\"recreate\"")
    });
    let changes = s["last_plan"]["changes"].to_string();
    assert!(changes.contains("www/index.html changed in git"), "{s:#}");
    assert!(changes.contains(": www/index.html changed"), "{s:#}");
    assert_eq!(
        inspect(&host, "site-web-1", "{{(index .Mounts 0).Source}}"),
        source,
        "same path, new content"
    );
}

//! A stack on an engine reached over TCP with mutual TLS: its working
//! directory lives on that engine, in volumes tend fills through the
//! Engine API (no agent, no shared file system). What the container writes
//! survives commits; tracked files follow git.

use crate::support::Dir;
use crate::support::docker::{PrivateEngine, docker, docker_try, eventually};
use crate::support::procs::Tend;

#[test]
fn state_survives_commits_on_a_tcp_host() {
    let root = Dir::new();
    let (engine, tcp) =
        PrivateEngine::with_tls(root.path(), "tendbr5", "10.217.0.1/24", "10.226.0.0/16");
    let certs = root.path().join("certs");
    let repo = Dir::new();
    repo.write(
        "tend.toml",
        format!(
            "[reconcile]\nprune = false\n\n[hosts.far]\ndocker = \"tcp://{tcp}\"\ntls = {{ ca = \"{ca}\", cert = \"{cert}\", key = \"{key}\" }}\n",
            ca = certs.join("ca.pem").display(),
            cert = certs.join("cert.pem").display(),
            key = certs.join("key.pem").display(),
        ),
    );
    repo.write("stacks/far/config/app.conf", "line=0\n");
    repo.write("stacks/far/app.ini", "mode=one\n");
    repo.write(
        "stacks/far/compose.yaml",
        "x-tend:\n  host: far\nservices:\n  app:\n    image: localhost/busybox:v1\n    command: [sh, -c, \"date >> /config/state.db; exec sleep 100000\"]\n    init: true\n    volumes: [./config:/config, ./data:/data, ./app.ini:/etc/app.ini:ro]\n",
    );
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    let host = &engine.host;
    let name = "far-app-1";
    let cat = |path: &str| docker_try(host, &["exec", name, "cat", path]).1;
    eventually("the stack deployed on the tcp host", || {
        cat("/config/app.conf") == "line=0"
    });
    assert_eq!(cat("/etc/app.ini"), "mode=one");
    docker(
        host,
        &[
            "exec",
            name,
            "sh",
            "-c",
            "echo user data >> /config/state.db; echo x > /data/blob",
        ],
    );
    let kinds = docker(
        host,
        &[
            "inspect",
            "-f",
            "{{range .Mounts}}{{.Type}}:{{.Name}} {{end}}",
            name,
        ],
    );
    assert!(
        kinds.contains("volume:far_wd-config") && kinds.contains("volume:far_wd-data"),
        "{kinds}"
    );
    for n in 1..=10 {
        repo.write("stacks/far/config/app.conf", format!("line={n}\n"));
        let want = format!("line={n}");
        eventually(&format!("commit {n} on the tcp host"), || {
            cat("/config/app.conf") == want
        });
    }
    repo.write("stacks/far/app.ini", "mode=two\n");
    eventually("the single file copied in again", || {
        cat("/etc/app.ini") == "mode=two"
    });
    t.wait_synced("far");
    // Read once the pass settled: no recreate in flight.
    let state = cat("/config/state.db");
    assert!(
        state.contains("user data"),
        "state lost: {state}\n{}",
        t.log_text()
    );
    let blob = docker_try(host, &["exec", name, "cat", "/data/blob"]);
    assert_eq!(
        blob,
        (true, "x".to_owned()),
        "{}\n{}",
        docker(host, &["events", "--since", "5m", "--until", "0s"]),
        t.log_text()
    );
    // The helper that carried the files is gone.
    let all = docker(host, &["ps", "-a", "--format", "{{.Names}}"]);
    assert_eq!(all, name, "{all}");
}

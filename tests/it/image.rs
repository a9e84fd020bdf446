//! The container image, built for real: the Debian base `scripts/setup`
//! made with debootstrap is imported into the test engine as
//! `debian:bookworm-slim` (no registry is reachable to pull it), the
//! Dockerfile's `prebuilt` target is built around this build's `tend`
//! (stripped), and the container runs as its non-root user against the
//! engine's socket and a `file://` config repository: the health check
//! turns healthy, a command job and an Ansible playbook run inside it, and
//! a stack is deployed from it.

use crate::support::docker::{docker, docker_try, shared_for};
use crate::support::http::{get, request};
use crate::support::procs::wait_until;
use crate::support::{Dir, git, project};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const IMAGE: &str = "tend-test:prebuilt";
const NAME: &str = "tend-image-test";

fn base_tarball() -> PathBuf {
    let path = crate::support::setup_cache("TEND_DEBIAN_BASE", "bookworm-minbase.tar.gz");
    assert!(
        path.exists(),
        "no Debian base at {}: run scripts/setup (debootstrap bookworm minbase)",
        path.display()
    );
    path
}

/// The build context: the Dockerfile and a stripped copy of this `tend`.
fn context(dir: &Path) -> PathBuf {
    let ctx = dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::copy(project().join("Dockerfile"), ctx.join("Dockerfile")).unwrap();
    let ok = Command::new("strip")
        .arg("-o")
        .arg(ctx.join("tend"))
        .arg(env!("CARGO_BIN_EXE_tend"))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "strip failed: run scripts/setup (installs binutils)");
    ctx
}

/// The CA certificates this machine adds (a TLS-intercepting proxy), for
/// pip inside the build; empty where there are none.
fn extra_ca() -> String {
    let mut pem = String::new();
    for entry in std::fs::read_dir("/usr/local/share/ca-certificates")
        .into_iter()
        .flatten()
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "crt") {
            pem += &std::fs::read_to_string(entry.path()).unwrap_or_default();
        }
    }
    pem
}

fn config_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    let write = |rel: &str, text: &str| {
        let p = repo.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    };
    write(
        "jobs/a.yaml",
        "jobs:\n  - name: hello\n    command: [sh, -c, 'echo hello from $(id -un)']\n  \
         - name: play\n    playbook: playbooks/hello.yml\n    inventory: inventory.ini\n",
    );
    // The shared engine holds other tests' stacks: never prune them.
    write("tend.toml", "[reconcile]\nprune = false\n");
    write(
        "inventory.ini",
        "localhost ansible_connection=local ansible_python_interpreter=/opt/ansible/bin/python\n",
    );
    write(
        "playbooks/hello.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug: msg=\"ansible in the image\"\n",
    );
    write(
        "stacks/imgweb/compose.yaml",
        "services:\n  web:\n    image: localhost/busybox:v1\n    command: [sleep, '3600']\n    init: true\n",
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "image test"]);
    // The image's user (uid 10001) reads it; git refuses repositories of others.
    let ok = Command::new("chown")
        .args(["-R", "10001"])
        .arg(&repo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chown of the config repository failed");
    repo
}

#[test]
fn the_image_builds_and_runs_jobs_and_stacks_as_non_root() {
    let (host, _clean) = shared_for(&["imgweb"]);
    let socket = host.strip_prefix("unix://").expect("a unix socket engine");
    if !docker_try(&host, &["image", "inspect", "debian:bookworm-slim"]).0 {
        let tar = base_tarball();
        docker(
            &host,
            &[
                "import",
                "--change",
                "CMD [\"bash\"]",
                tar.to_str().unwrap(),
                "debian:bookworm-slim",
            ],
        );
    }
    let dir = Dir::new();
    let ctx = context(dir.path());
    let ca = format!("EXTRA_CA={}", extra_ca());
    let out = Command::new("docker")
        .env("DOCKER_BUILDKIT", "0")
        .args([
            "-H", &host, "build", "-q", "--target", "prebuilt", "-t", IMAGE,
        ])
        .args(["--build-arg", &ca])
        .arg(&ctx)
        .output()
        .expect("docker CLI");
    assert!(
        out.status.success(),
        "image build failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let size: f64 = docker(&host, &["image", "inspect", "-f", "{{.Size}}", IMAGE])
        .parse()
        .unwrap();
    eprintln!("image {IMAGE}: {:.0} MB", size / 1e6);
    assert_eq!(
        docker(
            &host,
            &["image", "inspect", "-f", "{{.Config.User}}", IMAGE]
        ),
        "tend"
    );

    let repo = config_repo(dir.path());
    dir.write("token", "tok\n");
    let gid = std::fs::metadata(socket)
        .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
        .unwrap();
    docker_try(&host, &["rm", "-f", NAME]);
    let mounts = [
        format!("{socket}:/var/run/docker.sock"),
        format!("{}:/repo:ro", repo.display()),
        format!("{}:/etc/tend/token:ro", dir.path().join("token").display()),
    ];
    let mut args = vec!["run", "-d", "--name", NAME, "--health-interval", "1s"];
    let gid = gid.to_string();
    args.extend(["--group-add", &gid, "-p", "127.0.0.1::8080"]);
    for m in &mounts {
        args.extend(["-v", m]);
    }
    args.extend(["-e", "TEND_SOURCE=file:///repo"]);
    args.extend(["-e", "TEND_API_TOKEN_FILE=/etc/tend/token", IMAGE]);
    docker(&host, &args);
    let guard = Running(host.clone());
    let logs = || docker_try(&guard.0, &["logs", NAME]).1;

    let healthy = wait_until(Duration::from_secs(60), || {
        docker_try(&host, &["inspect", "-f", "{{.State.Health.Status}}", NAME]).1 == "healthy"
    });
    assert!(healthy, "container not healthy:\n{}", logs());
    let port = docker(&host, &["port", NAME, "8080"]);
    let addr = port.lines().next().unwrap().parse().unwrap();
    assert_eq!(get(addr, "/healthz").status, 200);
    let ready = wait_until(Duration::from_secs(30), || {
        get(addr, "/readyz").status == 200
    });
    assert!(ready, "not ready:\n{}", logs());

    for (job, expect) in [
        ("hello", "hello from tend"),
        ("play", "ansible in the image"),
    ] {
        let path = format!("/api/v1/jobs/{job}/run");
        let auth = [("Authorization", "Bearer tok")];
        let resp = request(addr, "POST", &path, &auth, b"").unwrap();
        assert_eq!(resp.status, 202, "{}", resp.body);
        let id = resp.json()["run"].as_u64().unwrap();
        let mut run = serde_json::Value::Null;
        let done = wait_until(Duration::from_secs(60), || {
            run = get(addr, &format!("/api/v1/runs/{id}")).json();
            run["status"] != "running"
        });
        let log = get(addr, &format!("/api/v1/runs/{id}/log")).body;
        assert!(
            done && run["status"] == "succeeded",
            "{run:#}\n{log}\n{}",
            logs()
        );
        assert!(log.contains(expect), "{log}");
    }

    let synced = wait_until(Duration::from_secs(60), || {
        let stacks = get(addr, "/api/v1/stacks").json();
        stacks["stacks"][0]["sync"] == "synced"
    });
    assert!(synced, "{}\n{}", get(addr, "/api/v1/stacks").body, logs());
    let running = crate::support::docker::containers(&host, "imgweb");
    assert_eq!(running.len(), 1, "{running:?}");
}

/// Removes the tend container when the test ends.
struct Running(String);

impl Drop for Running {
    fn drop(&mut self) {
        docker_try(&self.0, &["rm", "-f", "-v", NAME]);
    }
}

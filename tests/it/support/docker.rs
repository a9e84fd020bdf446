//! A real Docker engine for stack tests. The shared engine is the one
//! `scripts/test` starts (`TEND_TEST_DOCKER`); tests that prune or stop an
//! engine start private ones with `scripts/dockerd` on their own bridge.
//! Every test uses its own stack names and cleans up its projects.

use super::procs::wait_until;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The shared engine's address; panics with the setup command when absent.
pub fn shared() -> String {
    std::env::var("TEND_TEST_DOCKER").unwrap_or_else(|_| {
        panic!(
            "TEND_TEST_DOCKER is not set: run scripts/test (it starts a private dockerd), or \
             `scripts/dockerd start /tmp/tend-dockerd` and export TEND_TEST_DOCKER=unix:///tmp/tend-dockerd/docker.sock"
        )
    })
}

/// The shared engine and a guard that removes `projects` from it at the end.
pub fn shared_for(projects: &[&str]) -> (String, Cleanup) {
    let host = shared();
    let clean = Cleanup {
        host: host.clone(),
        projects: projects.iter().map(|p| (*p).to_owned()).collect(),
    };
    (host, clean)
}

/// Runs the docker CLI against `host`; returns stdout, panics on failure.
pub fn docker(host: &str, args: &[&str]) -> String {
    let out = docker_try(host, args);
    assert!(out.0, "docker {args:?} failed: {}", out.1);
    out.1
}

/// Runs the docker CLI; `(ok, stdout or stderr)`.
pub fn docker_try(host: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new("docker")
        .arg("-H")
        .arg(host)
        .args(args)
        .output()
        .expect("the docker CLI is missing: run scripts/setup (installs docker.io)");
    let ok = out.status.success();
    let text = if ok { out.stdout } else { out.stderr };
    (ok, String::from_utf8_lossy(&text).trim().to_owned())
}

/// `docker inspect -f FORMAT name`.
pub fn inspect(host: &str, name: &str, format: &str) -> String {
    docker(host, &["inspect", "-f", format, name])
}

/// Names of the containers of compose project `project`, sorted.
pub fn containers(host: &str, project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let out = docker(
        host,
        &["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"],
    );
    let mut names: Vec<String> = out.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Removes everything of the listed projects when dropped.
pub struct Cleanup {
    /// Engine address.
    pub host: String,
    /// Project names.
    pub projects: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.projects {
            let filter = format!("label=com.docker.compose.project={p}");
            let (_, ids) = docker_try(&self.host, &["ps", "-aq", "--filter", &filter]);
            for id in ids.lines().filter(|l| !l.is_empty()) {
                docker_try(&self.host, &["rm", "-f", id]);
            }
            let (_, nets) = docker_try(&self.host, &["network", "ls", "-q", "--filter", &filter]);
            for id in nets.lines().filter(|l| !l.is_empty()) {
                docker_try(&self.host, &["network", "rm", id]);
            }
            let (_, vols) = docker_try(&self.host, &["volume", "ls", "-q", "--filter", &filter]);
            for id in vols.lines().filter(|l| !l.is_empty()) {
                docker_try(&self.host, &["volume", "rm", id]);
            }
        }
    }
}

/// A private dockerd on its own bridge, stopped (by its pid) when dropped.
pub struct PrivateEngine {
    dir: PathBuf,
    bridge: String,
    /// Its address.
    pub host: String,
}

impl PrivateEngine {
    /// Starts one under `dir` with Linux bridge `bridge` and subnet `cidr`,
    /// user networks from the /16 `pool`.
    pub fn start(dir: &Path, bridge: &str, cidr: &str, pool: &str) -> PrivateEngine {
        PrivateEngine::start_env(dir, bridge, cidr, pool, &[])
    }

    /// [`PrivateEngine::start`] with extra `scripts/dockerd` settings
    /// (`TEND_DOCKER_TCP`, `TEND_DOCKER_TLS`).
    pub fn start_env(
        dir: &Path,
        bridge: &str,
        cidr: &str,
        pool: &str,
        env: &[(&str, &str)],
    ) -> PrivateEngine {
        let script = super::project().join("scripts/dockerd");
        let out = Command::new(&script)
            .args(["start", dir.to_str().unwrap(), bridge])
            .env("TEND_BRIDGE_CIDR", cidr)
            .env("TEND_DOCKER_POOL", pool)
            // Engines racing on the same iptables chains fail network creation.
            .env("TEND_DOCKER_IPTABLES", "false")
            .envs(env.iter().copied())
            .output()
            .expect("run scripts/dockerd");
        assert!(
            out.status.success(),
            "scripts/dockerd start failed (run scripts/setup first): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PrivateEngine {
            dir: dir.to_owned(),
            bridge: bridge.to_owned(),
            host: String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        }
    }

    /// One under `root/e` that also listens on TCP with mutual TLS, its
    /// certificates made in `root/certs`; returns it and `127.0.0.1:PORT`.
    pub fn with_tls(root: &Path, bridge: &str, cidr: &str, pool: &str) -> (PrivateEngine, String) {
        let certs = root.join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        tls_material(&certs);
        let tcp = format!("127.0.0.1:{}", super::procs::free_port());
        let env = [
            ("TEND_DOCKER_TCP", tcp.as_str()),
            ("TEND_DOCKER_TLS", certs.to_str().unwrap()),
        ];
        let engine = PrivateEngine::start_env(&root.join("e"), bridge, cidr, pool, &env);
        (engine, tcp)
    }

    /// Stops it (by pid); its data stays for a restart.
    pub fn stop(&self) {
        let script = super::project().join("scripts/dockerd");
        let ok = Command::new(&script)
            .args(["stop", self.dir.to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "scripts/dockerd stop failed");
    }

    /// Starts it again on the same data.
    pub fn restart(&self) {
        let again = PrivateEngine::start(&self.dir, &self.bridge, "", "");
        assert_eq!(again.host, self.host);
        std::mem::forget(again);
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        let (_, ids) = docker_try(&self.host, &["ps", "-aq"]);
        for id in ids.lines().filter(|l| !l.is_empty()) {
            docker_try(&self.host, &["rm", "-f", id]);
        }
        self.stop();
    }
}

/// Waits until `cond` holds (20 s), panicking with `what`.
pub fn eventually(what: &str, cond: impl FnMut() -> bool) {
    assert!(
        wait_until(Duration::from_secs(20), cond),
        "timed out waiting for {what}"
    );
}

/// Writes a test CA, a server certificate for 127.0.0.1 and a client
/// certificate into `dir` with the openssl CLI: `ca.pem`, `server-cert.pem`,
/// `server-key.pem`, `cert.pem`, `key.pem`.
pub fn tls_material(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is missing: run scripts/setup");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca-key.pem",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=tend-test-ca",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    for (name, usage, key, cert) in [
        ("server", "serverAuth", "server-key.pem", "server-cert.pem"),
        ("client", "clientAuth", "key.pem", "cert.pem"),
    ] {
        let csr = format!("{name}.csr");
        let ext = format!("{name}.ext");
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
            ),
        )
        .unwrap();
        openssl(
            &[
                &["req"][..],
                &ec,
                &[
                    "-keyout",
                    key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}"),
                ],
            ]
            .concat(),
        );
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ]);
    }
}

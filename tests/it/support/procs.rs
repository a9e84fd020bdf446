//! Background servers for tests — `git daemon`, `sshd` and `tend run` —
//! started so the child is the server itself, stopped by its pid (SIGTERM,
//! then SIGKILL), never by name.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `cond` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

/// A child process stopped by pid when dropped.
pub struct Proc {
    /// The child.
    pub child: Child,
    /// What it is, for messages.
    pub name: String,
}

impl Proc {
    /// Kills the process with SIGKILL (a crash) and reaps it.
    pub fn crash(&mut self) {
        signal(self.child.id(), "KILL");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `limit` for exit; returns the exit code.
    pub fn terminate(&mut self, limit: Duration) -> Option<i32> {
        signal(self.child.id(), "TERM");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal(self.child.id(), "TERM");
            if !wait_until(Duration::from_secs(3), || {
                matches!(self.child.try_wait(), Ok(Some(_)))
            }) {
                eprintln!(
                    "{} (pid {}) ignored SIGTERM; killing it",
                    self.name,
                    self.child.id()
                );
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn port_open(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// `git daemon` serving every repository under `base` on `port`.
pub fn git_daemon(base: &Path, port: u16) -> Proc {
    let mut cmd = Command::new("git");
    cmd.args([
        "daemon",
        "--export-all",
        "--reuseaddr",
        "--listen=127.0.0.1",
        "--informative-errors",
    ])
    .arg(format!("--port={port}"))
    .arg(format!("--base-path={}", base.display()))
    .arg(base);
    serve(cmd, "git daemon", port, "run scripts/setup (installs git)")
}

/// Starts a server quietly and waits until it listens on `port`.
fn serve(mut cmd: Command, name: &str, port: u16, setup: &str) -> Proc {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} could not start ({e}): {setup}"));
    let proc = Proc {
        child,
        name: name.into(),
    };
    assert!(
        wait_until(Duration::from_secs(10), || port_open(port)),
        "{name} did not listen on {port}"
    );
    proc
}

/// An sshd on 127.0.0.1:`port` accepting `authorized_keys` for root, with
/// its host key in `dir`.
pub fn sshd(dir: &Path, port: u16, authorized_keys: &Path) -> Proc {
    let host_key = dir.join("ssh_host_ed25519_key");
    if !host_key.exists() {
        keygen(&host_key);
    }
    std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nPasswordAuthentication no\nPermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nPidFile {}\n",
            host_key.display(),
            authorized_keys.display(),
            dir.join("sshd.pid").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new("/usr/sbin/sshd");
    cmd.args(["-D", "-e", "-f"]).arg(&config);
    serve(
        cmd,
        "sshd",
        port,
        "run scripts/setup (installs openssh-server)",
    )
}

/// Generates an ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen is missing: run scripts/setup (installs openssh-client)")
        .success();
    assert!(ok, "ssh-keygen failed");
}

/// A running `tend run`, with its API address.
pub struct Tend {
    /// The process.
    pub proc: Proc,
    /// Where its API listens.
    pub addr: SocketAddr,
    /// Its log file (stderr).
    pub log: std::path::PathBuf,
}

impl Tend {
    /// Starts `tend run --listen <free port> <args>` logging to `log`, and
    /// waits until `/healthz` answers.
    pub fn start(cwd: &Path, args: &[&str], log: &Path) -> Tend {
        Tend::start_with_env(cwd, args, log, &[])
    }

    /// [`Tend::start`] with extra environment variables for the daemon.
    pub fn start_with_env(cwd: &Path, args: &[&str], log: &Path, env: &[(&str, &str)]) -> Tend {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let file = std::fs::File::create(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_tend"))
            .arg("run")
            .arg("--listen")
            .arg(addr.to_string())
            .args(args)
            .current_dir(cwd)
            .env("TEND_LOG", "info,tend=debug")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start tend");
        let tend = Tend {
            proc: Proc {
                child,
                name: "tend".into(),
            },
            addr,
            log: log.to_owned(),
        };
        let up = wait_until(Duration::from_secs(20), || {
            super::http::request(addr, "GET", "/healthz", &[], b"").is_some_and(|r| r.status == 200)
        });
        assert!(up, "tend did not come up; log:\n{}", tend.log_text());
        tend
    }

    /// `tend run` following `repo` (data and log under `data`) with manual
    /// runs on (API token `tok`).
    pub fn follow(repo: &Path, data: &super::Dir) -> Tend {
        data.write("token", "tok\n");
        let (token, dir) = (data.path().join("token"), data.path().join("data"));
        let args = [
            "--source",
            repo.to_str().unwrap(),
            "--data",
            dir.to_str().unwrap(),
            "--api-token-file",
            token.to_str().unwrap(),
        ];
        Tend::start(data.path(), &args, &data.path().join("tend.log"))
    }

    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `GET /api/v1/status` as JSON.
    pub fn status(&self) -> serde_json::Value {
        super::http::get(self.addr, "/api/v1/status").json()
    }

    /// Waits until the status satisfies `cond`; panics with the status and log otherwise.
    pub fn wait_status(
        &self,
        limit: Duration,
        what: &str,
        cond: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let ok = wait_until(limit, || {
            last = self.status();
            cond(&last)
        });
        assert!(
            ok,
            "timed out waiting for {what}\nstatus: {last:#}\nlog:\n{}",
            self.log_text()
        );
        last
    }

    /// Waits until one of the newest `n` audit events is of `kind`.
    pub fn wait_event(&self, n: usize, kind: &str) {
        let ok = wait_until(Duration::from_secs(20), || {
            self.event_kinds(n).iter().any(|k| k == kind)
        });
        assert!(
            ok,
            "no `{kind}` event among {:?}\nlog:\n{}",
            self.event_kinds(n),
            self.log_text()
        );
    }

    /// `GET /api/v1/runs` with a query (e.g. `job=a&limit=10`): the runs.
    pub fn runs(&self, query: &str) -> Vec<serde_json::Value> {
        let page = super::http::get(self.addr, &format!("/api/v1/runs?{query}")).json();
        page["runs"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `GET /api/v1/runs?{query}` satisfies `cond`.
    pub fn wait_runs(
        &self,
        limit: Duration,
        what: &str,
        query: &str,
        cond: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let mut last = Vec::new();
        let ok = wait_until(limit, || {
            last = self.runs(query);
            cond(&last)
        });
        assert!(
            ok,
            "timed out waiting for {what}\nruns: {last:#?}\nlog:\n{}",
            self.log_text()
        );
        last
    }

    /// Triggers `job` (API token `tok`) and waits up to `limit` for its run
    /// to end; returns the run and its log.
    pub fn run_job(&self, job: &str, limit: Duration) -> (serde_json::Value, String) {
        let path = format!("/api/v1/jobs/{job}/run");
        let auth = [("Authorization", "Bearer tok")];
        let resp = super::http::request(self.addr, "POST", &path, &auth, b"").unwrap();
        assert_eq!(resp.status, 202, "{}", resp.body);
        let id = resp.json()["run"].as_u64().unwrap();
        let mut run = serde_json::Value::Null;
        let ended = wait_until(limit, || {
            run = super::http::get(self.addr, &format!("/api/v1/runs/{id}")).json();
            run["status"] != "running"
        });
        assert!(
            ended,
            "run {id} of {job} did not end: {run:#}\n{}",
            self.log_text()
        );
        let log = super::http::get(self.addr, &format!("/api/v1/runs/{id}/log")).body;
        (run, log)
    }

    /// The newest `n` audit events as `(kind, reason)`, newest first.
    pub fn events(&self, n: usize) -> Vec<(String, String)> {
        let events = super::http::get(self.addr, &format!("/api/v1/events?limit={n}")).json();
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_owned(),
                    e["reason"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Waits (40 s at most) until stack `name` satisfies `cond`; returns it,
    /// or fails naming `what` with the daemon's log.
    pub fn wait_stack(
        &self,
        name: &str,
        what: &str,
        cond: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let mut last = serde_json::Value::Null;
        let ok = wait_until(Duration::from_secs(40), || {
            last = self.stack(name);
            cond(&last)
        });
        assert!(
            ok,
            "timed out waiting for {what}: {last:#}\n{}",
            self.log_text()
        );
        last
    }

    /// Waits until stack `name` is synced on the commit in force (a status
    /// of an earlier pass, still on the previous commit, does not count).
    pub fn wait_synced(&self, name: &str) -> serde_json::Value {
        self.wait_stack(name, &format!("{name} synced"), |s| {
            let applied = self.status()["source"]["applied_commit"].clone();
            s["sync"] == "synced" && s["commit"] == applied
        })
    }

    /// Stacks passes finished so far (`tend_reconcile_duration_seconds_count`).
    pub fn stack_passes(&self) -> u64 {
        let m = super::http::get(self.addr, "/metrics").body;
        m.lines()
            .find_map(|l| l.strip_prefix("tend_reconcile_duration_seconds_count "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Waits until `more` stacks passes have finished since the count was
    /// `start` (read before the action whose effect is to be seen): the
    /// controller has looked again, instead of sleeping and hoping.
    pub fn wait_passes(&self, start: u64, more: u64) {
        let ok = wait_until(Duration::from_secs(30), || {
            self.stack_passes() >= start + more
        });
        assert!(
            ok,
            "{more} more stacks pass(es) after {start}: got {}\nlog:\n{}",
            self.stack_passes(),
            self.log_text()
        );
    }

    /// `GET /api/v1/stacks`: the stack named `name`, or `Null`.
    pub fn stack(&self, name: &str) -> serde_json::Value {
        let all = super::http::get(self.addr, "/api/v1/stacks").json();
        all["stacks"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == name).cloned())
            .unwrap_or_default()
    }

    /// The kinds of the newest `n` audit events, newest first.
    pub fn event_kinds(&self, n: usize) -> Vec<String> {
        let events = super::http::get(self.addr, &format!("/api/v1/events?limit={n}")).json();
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    }
}

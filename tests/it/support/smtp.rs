//! A real SMTP server for `mailto://`: aiosmtpd (installed by
//! `scripts/setup` into the test venv) running `smtp_sink.py`, which writes
//! each message it accepts as a JSON line.

use super::procs::{Proc, free_port, wait_until};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A running sink; stopped (by pid) when dropped.
pub struct Sink {
    /// Its port on 127.0.0.1.
    pub port: u16,
    out: PathBuf,
    _proc: Proc,
}

impl Sink {
    /// Starts one in `dir`; with `tls`, a self-signed certificate is made
    /// and STARTTLS (then AUTH `alerts`/`pw`) is required.
    pub fn start(dir: &Path, tls: bool) -> Sink {
        let python = venv_python();
        let port = free_port();
        let out = dir.join(format!("mail-{port}.jsonl"));
        let mut cmd = Command::new(&python);
        cmd.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support/smtp_sink.py"))
            .arg(port.to_string())
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if tls {
            let (cert, key) = (dir.join("smtp.crt"), dir.join("smtp.key"));
            let ok = Command::new("openssl")
                .args([
                    "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                ])
                .args(["-subj", "/CN=127.0.0.1", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&cert)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "openssl could not make a certificate: run scripts/setup"
            );
            cmd.arg(cert).arg(key);
        }
        let child = cmd.spawn().expect("start the SMTP sink");
        let proc = Proc {
            child,
            name: "smtp sink".into(),
        };
        let up = wait_until(Duration::from_secs(15), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "the SMTP sink did not come up on port {port}");
        Sink {
            port,
            out,
            _proc: proc,
        }
    }

    /// The messages received so far.
    pub fn received(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn venv_python() -> PathBuf {
    let venv = super::setup_cache("TEND_ANSIBLE_VENV", "ansible-venv");
    let python = venv.join("bin/python");
    let has = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        has,
        "aiosmtpd not found in {}: run scripts/setup (installs it in the test venv)",
        venv.display()
    );
    python
}

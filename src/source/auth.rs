//! Credentials and host-key checks for git remotes.
//!
//! SSH host keys are checked against a `known_hosts` file (plain or hashed
//! `|1|salt|hash` names, `[host]:port` for other ports). An unknown host is
//! refused unless the user chose `--ssh-accept-new`, which records it; a
//! changed key is always refused. HTTPS certificates are left to libgit2's
//! own verification.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use git2::{CertificateCheckStatus, Cred, CredentialType, RemoteCallbacks};
use hmac::{KeyInit, Mac};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// How to authenticate to a remote and check its identity.
#[derive(Debug, Clone, Default)]
pub struct Auth {
    /// Private key for ssh remotes; the ssh agent is tried without one.
    pub ssh_key: Option<PathBuf>,
    /// `known_hosts` file for ssh host keys.
    pub known_hosts: Option<PathBuf>,
    /// Record unknown ssh host keys instead of refusing them.
    pub accept_new: bool,
    /// Token for https remotes (sent as the password).
    pub https_token: Option<String>,
}

/// How often libgit2 may ask for credentials before tend gives up (it
/// would otherwise ask forever after a rejected key).
const MAX_CREDENTIAL_ATTEMPTS: u32 = 3;

impl Auth {
    /// Remote callbacks with credentials, host-key checks and a cancel flag
    /// (a set flag aborts a transfer in progress). `port` is the remote's
    /// ssh port, for `[host]:port` entries.
    /// libgit2 replaces a refused host key's message with its own; the
    /// refusal reason is also written to `refused` so callers can report it.
    pub fn callbacks<'a>(
        &'a self,
        port: Option<u16>,
        cancel: Arc<AtomicBool>,
        refused: Arc<Mutex<Option<String>>>,
    ) -> RemoteCallbacks<'a> {
        let mut cb = RemoteCallbacks::new();
        let attempts = AtomicU32::new(0);
        cb.credentials(move |_url, user, allowed| {
            if attempts.fetch_add(1, Ordering::Relaxed) >= MAX_CREDENTIAL_ATTEMPTS {
                return Err(git2::Error::from_str(
                    "authentication failed (credentials rejected)",
                ));
            }
            self.credentials(user, allowed)
        });
        cb.certificate_check(move |cert, host| match cert.as_hostkey() {
            Some(key) => {
                let kind = key.hostkey_type().map_or("unknown", |t| t.name());
                let raw = key.hostkey().unwrap_or_default();
                self.check_host_key(host, port.unwrap_or(22), kind, raw)
                    .map(|()| CertificateCheckStatus::CertificateOk)
                    .map_err(|e| {
                        if let Ok(mut slot) = refused.lock() {
                            *slot = Some(e.clone());
                        }
                        git2::Error::from_str(&e)
                    })
            }
            None => Ok(CertificateCheckStatus::CertificatePassthrough),
        });
        let c = cancel.clone();
        cb.transfer_progress(move |_| !c.load(Ordering::Relaxed));
        cb.sideband_progress(move |_| !cancel.load(Ordering::Relaxed));
        cb
    }

    fn credentials(
        &self,
        user: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user.unwrap_or("git"));
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            let user = user.unwrap_or("git");
            return match &self.ssh_key {
                Some(key) => Cred::ssh_key(user, None, key, None),
                None => Cred::ssh_key_from_agent(user),
            };
        }
        if let Some(token) = &self.https_token
            && allowed.contains(CredentialType::USER_PASS_PLAINTEXT)
        {
            return Cred::userpass_plaintext(user.unwrap_or("x-access-token"), token);
        }
        Err(git2::Error::from_str(
            "the remote wants credentials: give --ssh-key for ssh or TEND_GIT_TOKEN for https",
        ))
    }

    /// Checks an ssh host key against the known_hosts file.
    pub fn check_host_key(
        &self,
        host: &str,
        port: u16,
        kind: &str,
        key: &[u8],
    ) -> Result<(), String> {
        let Some(path) = &self.known_hosts else {
            return Err(format!(
                "cannot verify the ssh host key of {host}: give --known-hosts FILE (or --ssh-accept-new to record it)"
            ));
        };
        let name = if port == 22 {
            host.to_owned()
        } else {
            format!("[{host}]:{port}")
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let encoded = B64.encode(key);
        let mut same_kind_differs = false;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let mut parts = line.split_whitespace();
            let (Some(hosts), Some(k), Some(b64)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            if !hosts.split(',').any(|h| host_matches(h, &name)) {
                continue;
            }
            if k == kind && b64 == encoded {
                return Ok(());
            }
            same_kind_differs |= k == kind;
        }
        if same_kind_differs {
            return Err(format!(
                "ssh host key of {name} does not match {}: refusing to connect (possible man-in-the-middle)",
                path.display()
            ));
        }
        if !self.accept_new {
            return Err(format!(
                "ssh host key of {name} is not in {}: add it (ssh-keyscan -p {port} {host} >> {}) or start with --ssh-accept-new",
                path.display(),
                path.display()
            ));
        }
        let line = format!("{name} {kind} {encoded}\n");
        append(path, &line)
            .map_err(|e| format!("cannot record host key in {}: {e}", path.display()))?;
        tracing::warn!(host = %name, kind, file = %path.display(), "recorded new ssh host key");
        Ok(())
    }
}

fn append(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(line.as_bytes())
}

/// Whether a known_hosts host pattern (plain or `|1|salt|hash`) names `name`.
fn host_matches(pattern: &str, name: &str) -> bool {
    let Some(hashed) = pattern.strip_prefix("|1|") else {
        return pattern == name;
    };
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (B64.decode(salt), B64.decode(hash)) else {
        return false;
    };
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(&hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_match() {
        // `ssh-keygen -H` form of "[127.0.0.1]:2222" with a fixed salt.
        let salt = [7u8; 20];
        let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(&salt).unwrap();
        mac.update(b"[127.0.0.1]:2222");
        let hash = mac.finalize().into_bytes();
        let pattern = format!("|1|{}|{}", B64.encode(salt), B64.encode(hash));
        assert!(host_matches(&pattern, "[127.0.0.1]:2222"));
        assert!(!host_matches(&pattern, "127.0.0.1"));
        assert!(host_matches("nas.lan", "nas.lan"));
    }

    #[test]
    fn unknown_mismatched_and_accepted_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        let mut auth = Auth {
            known_hosts: Some(file.clone()),
            ..Auth::default()
        };
        assert!(
            auth.check_host_key("h", 2222, "ssh-ed25519", b"key1")
                .unwrap_err()
                .contains("not in")
        );
        auth.accept_new = true;
        auth.check_host_key("h", 2222, "ssh-ed25519", b"key1")
            .unwrap();
        auth.accept_new = false;
        auth.check_host_key("h", 2222, "ssh-ed25519", b"key1")
            .unwrap();
        let err = auth
            .check_host_key("h", 2222, "ssh-ed25519", b"key2")
            .unwrap_err();
        assert!(err.contains("does not match"), "{err}");
        let none = Auth::default();
        assert!(none.check_host_key("h", 22, "ssh-rsa", b"k").is_err());
    }
}

//! The Docker Engine API edge (bollard): connect to a host, observe the
//! containers, networks and volumes tend manages, make the changes a plan
//! asks for, run container actions, and follow the events stream.
//!
//! Every mutating call goes through [`Engine::mutating`], which counts it:
//! an in-sync reconcile must make zero of them, and tests check that.
//!
//! This module depends on `model` only: it takes targets and plans as
//! `model` defines them and answers with `model`'s observed state, so the
//! planner never sees bollard's types and the engine's API can change
//! behind this edge alone. Every call has a time limit — a minute for an
//! ordinary call, ten seconds to connect, a day for a stream — so an engine
//! that hangs fails its own host's pass and nothing else. The engine's
//! errors become [`DockerError`]s whose text says what the engine said.
//!
//! Hosts are reached over a unix socket or tcp, with TLS when the host's
//! settings give certificates. The API version is negotiated once per
//! connection (the engines of the tests speak 1.41).

pub mod actions;
pub mod apply;
pub mod archive;
pub mod build;
pub mod context;
pub mod create;
pub mod events;
pub mod files;
pub mod hooks;
pub mod observe;
pub mod ops;
pub mod options;

use crate::model::Host;
use bollard::{API_DEFAULT_VERSION, Docker};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Time limit of one ordinary API call, in seconds (a minute: long enough
/// for a container stop with its grace period, short enough that a hung
/// engine fails its pass).
const CALL_TIMEOUT_SECS: u64 = 60;
/// Time limit of streaming calls (events, pulls, builds), in seconds: a
/// day, as these end by themselves.
const STREAM_TIMEOUT_SECS: u64 = 24 * 3600;
/// Time limit of connecting and negotiating the API version (an engine
/// that does not answer in it is unreachable for this pass).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why talking to an engine failed.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The host's address or TLS settings are unusable.
    #[error("{0}")]
    Config(String),
    /// The engine could not be reached or answered with an error.
    #[error("{0}")]
    Api(String),
    /// The engine took too long.
    #[error("{0} timed out")]
    Timeout(&'static str),
    /// A container tend did not create is in the way.
    #[error("{0}")]
    Conflict(String),
}

impl From<bollard::errors::Error> for DockerError {
    /// Sorts the engine's answer: unreachable, refused or a plain error.
    /// The engine's own answer keeps its status code and message ("engine
    /// answered 409: …"); a transport error keeps its whole cause chain.
    fn from(e: bollard::errors::Error) -> Self {
        use bollard::errors::Error as E;
        match e {
            E::DockerResponseServerError {
                status_code,
                message,
            } => DockerError::Api(format!("engine answered {status_code}: {message}")),
            E::SocketNotFoundError(path) => {
                DockerError::Api(format!("socket {path} does not exist"))
            }
            other => DockerError::Api(with_causes(&other)),
        }
    }
}

/// An error and its causes, `a: b: c` (hyper hides the cause otherwise:
/// "connection refused" is only in the chain).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        cause = c.source();
    }
    text
}

/// Whether an error is the engine saying "no such object" (404): for the
/// operations where gone already is success.
pub fn not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// A connected engine of one `[hosts.*]` entry: two clients (ordinary calls
/// with a short limit, streams with a long one) and the count of mutating
/// calls. Cheap to clone; the clones share the count.
#[derive(Clone)]
pub struct Engine {
    /// Host name from `tend.toml`.
    pub name: String,
    /// The client for ordinary calls ([`CALL_TIMEOUT_SECS`]).
    api: Docker,
    /// The client for streams ([`STREAM_TIMEOUT_SECS`]).
    long: Docker,
    /// Mutating calls made so far, shared by the clones.
    mutations: Arc<AtomicU64>,
}

impl Engine {
    /// Connects to `host` and negotiates the API version. TLS material given
    /// as `${env:…}` is written under `tls_dir` (mode 0600) for the client.
    /// The stream client is made with the version the first one agreed on,
    /// so both speak the same API to the engine.
    pub async fn connect(name: &str, host: &Host, tls_dir: &Path) -> Result<Engine, DockerError> {
        let negotiate = client(host, tls_dir, name, CALL_TIMEOUT_SECS, API_DEFAULT_VERSION)?
            .negotiate_version();
        let api = tokio::time::timeout(CONNECT_TIMEOUT, negotiate)
            .await
            .map_err(|_| DockerError::Timeout("connecting to the engine"))??;
        let version = api.client_version();
        let long = client(host, tls_dir, name, STREAM_TIMEOUT_SECS, &version)?;
        Ok(Engine {
            name: name.to_owned(),
            api,
            long,
            mutations: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The client for ordinary calls (lists, inspects; what changes nothing).
    pub fn api(&self) -> &Docker {
        &self.api
    }

    /// The client for long streams (events, pulls, builds), with the day-long
    /// limit.
    pub fn long(&self) -> &Docker {
        &self.long
    }

    /// Counts a mutating call and hands out the client to make it. Every
    /// create, start, stop, remove, rename, exec and upload goes through it
    /// (pulls and builds, on the stream client, count themselves the same
    /// way): the count is the "zero calls when in sync" check.
    pub fn mutating(&self) -> &Docker {
        self.mutations.fetch_add(1, Ordering::Relaxed);
        &self.api
    }

    /// Mutating calls made through this engine so far.
    pub fn mutations(&self) -> u64 {
        self.mutations.load(Ordering::Relaxed)
    }
}

/// A bollard client for `host`: a unix socket, or tcp with TLS material
/// written under `tls_dir` when it comes from `${env:…}`. Any other
/// address is a configuration error naming the two forms.
fn client(
    host: &Host,
    tls_dir: &Path,
    name: &str,
    timeout: u64,
    v: &bollard::ClientVersion,
) -> Result<Docker, DockerError> {
    let addr = host.docker.as_str();
    if addr.starts_with("unix://") || addr.starts_with('/') {
        return Ok(Docker::connect_with_socket(addr, timeout, v)?);
    }
    if let Some(rest) = addr.strip_prefix("tcp://") {
        return match &host.tls {
            None => Ok(Docker::connect_with_http(rest, timeout, v)?),
            Some(tls) => {
                let file = |what: &str, value: &Option<String>| {
                    tls_file(what, value.as_deref(), &tls_dir.join(name))
                };
                let (ca, cert, key) = (
                    file("ca", &tls.ca)?,
                    file("cert", &tls.cert)?,
                    file("key", &tls.key)?,
                );
                Ok(Docker::connect_with_ssl(
                    addr, &key, &cert, &ca, timeout, v,
                )?)
            }
        };
    }
    Err(DockerError::Config(format!(
        "docker address `{addr}` is not supported (use unix:///path or tcp://host:port)"
    )))
}

/// A TLS setting as a file path: `${file:/p}` and plain paths are used as
/// they are; `${env:NAME}` contents are written to `dir/what.pem`. A
/// missing setting or an unset variable is a configuration error naming
/// it.
fn tls_file(what: &str, value: Option<&str>, dir: &Path) -> Result<PathBuf, DockerError> {
    let value = value.ok_or_else(|| DockerError::Config(format!("tls.{what} is missing")))?;
    if let Some(path) = value
        .strip_prefix("${file:")
        .and_then(|r| r.strip_suffix('}'))
    {
        return Ok(PathBuf::from(path));
    }
    let Some(var) = value
        .strip_prefix("${env:")
        .and_then(|r| r.strip_suffix('}'))
    else {
        return Ok(PathBuf::from(value));
    };
    let pem = std::env::var(var)
        .map_err(|_| DockerError::Config(format!("tls.{what}: ${{env:{var}}} is not set")))?;
    let path = dir.join(format!("{what}.pem"));
    write_private(&path, pem.as_bytes())
        .map_err(|e| DockerError::Config(format!("tls.{what}: writing {}: {e}", path.display())))?;
    Ok(path)
}

/// Writes `data` to `path`, readable by tend's user only (mode 0600, set
/// when the file is created, so it is never readable by others).
fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(data)
}

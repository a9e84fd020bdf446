//! The daemon in the library (mini-redis's `server::run`): [`run`] wires the
//! real source, store, engines, runner and mailer into the four controllers
//! of [`crate::reconcile`], serves the web layer on the listener it is
//! given, and on `shutdown` stops the triggers, lets work in flight end
//! within the grace period and closes the store. `tend run` only parses
//! arguments, binds the listener and turns signals into `shutdown`; tests
//! call [`run`] in-process on a listener bound to port 0.

mod parts;
mod wire;

pub use wire::initial_status;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The data folder cannot be made.
    #[error("creating data folder {path}: {source}")]
    DataDir {
        /// The folder.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The store cannot be opened.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A secret file is unreadable or empty.
    #[error("secret file {path}: {why}")]
    Secret {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The source is given wrongly.
    #[error("source {given}: {why}")]
    Source {
        /// As given.
        given: String,
        /// What is wrong with it.
        why: String,
    },
    /// The folder watch of dev mode cannot start.
    #[error("watching {path}: {why}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// What failed.
        why: String,
    },
}

/// Options of `tend run` (flags and `TEND_*` variables), also set from code
/// by tests.
#[derive(clap::Args, Clone, Debug)]
pub struct Options {
    /// Config repository: a local path, file://, git://, ssh:// or user@host:path, https://.
    /// A plain folder that is not a git repository is followed as it is (dev mode).
    #[arg(long, env = "TEND_SOURCE")]
    pub source: String,
    /// Branch to follow (default: the remote's default branch).
    #[arg(long, env = "TEND_BRANCH")]
    pub branch: Option<String>,
    /// Data folder: database, clone, snapshots.
    #[arg(long, env = "TEND_DATA", default_value = "./tend-data")]
    pub data: PathBuf,
    /// Where stacks' working directories (relative binds) live, one folder
    /// per host and stack; default DATA/stacks. When tend runs in a
    /// container, bind this folder at the same path on the host.
    #[arg(long, env = "TEND_STACKS_DIR")]
    pub stacks_dir: Option<PathBuf>,
    /// Address of the status page and API (bound by `tend run`).
    #[arg(long, env = "TEND_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How often to poll the remote (with ±10 % jitter), e.g. 60s, 5m.
    #[arg(long, env = "TEND_POLL_INTERVAL", default_value = "60s", value_parser = duration)]
    pub poll_interval: Duration,
    /// Private key for ssh remotes (default: the ssh agent).
    #[arg(long, env = "TEND_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for ssh host keys (default: ~/.ssh/known_hosts).
    #[arg(long, env = "TEND_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown ssh host keys in the known_hosts file instead of refusing them.
    #[arg(long, env = "TEND_SSH_ACCEPT_NEW")]
    pub ssh_accept_new: bool,
    /// File holding the webhook secret; the webhook is off without it.
    #[arg(long, env = "TEND_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// File holding the API token for manual runs (`tend trigger`); they are off without it.
    #[arg(long, env = "TEND_API_TOKEN_FILE")]
    pub api_token_file: Option<PathBuf>,
    /// File holding a token needed to read the page, the API and /metrics
    /// (bearer, or the password of basic auth); reads are open without it.
    #[arg(long, env = "TEND_VIEW_TOKEN_FILE")]
    pub view_token_file: Option<PathBuf>,
    /// The ansible-playbook program for playbook jobs.
    #[arg(
        long,
        env = "TEND_ANSIBLE_PLAYBOOK",
        default_value = "ansible-playbook"
    )]
    pub ansible_playbook: PathBuf,
    /// Wait before the first retry of an undelivered notification (tripled for each further one).
    #[arg(long, env = "TEND_NOTIFY_BACKOFF", default_value = "5s", value_parser = duration, hide = true)]
    pub notify_backoff: Duration,
    /// How long work in flight may take to finish on shutdown.
    #[arg(long, env = "TEND_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,
}

/// Parses a duration option (`60s`, `5m`).
fn duration(text: &str) -> Result<Duration, String> {
    crate::config::values::parse_duration(text)
}

/// Runs the daemon on `listener` until `shutdown` completes, then stops it
/// within the grace period. Errors only at start (store, secrets, source).
pub async fn run(
    options: Options,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), DaemonError> {
    std::fs::create_dir_all(&options.data).map_err(|source| DaemonError::DataDir {
        path: options.data.clone(),
        source,
    })?;
    let store = crate::store::Store::open(&options.data.join("tend.redb"))?;
    let secrets = wire::Secrets::read(&options)?;
    let running = parts::start(&options, store.clone(), secrets, listener).await?;
    shutdown.await;
    tracing::info!(grace = ?options.shutdown_grace, "shutting down");
    running.stop(options.shutdown_grace).await;
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests;

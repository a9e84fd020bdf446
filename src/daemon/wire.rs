//! The daemon's inputs made ready: secrets read once at start (never
//! logged), the config source chosen from how it is given (a plain folder,
//! a local repository, a URL), and the status shown before any fetch.

use super::{DaemonError, Options};
use crate::model::{DesiredSummary, SourceMode, SourceStatus, Status};
use crate::source::{self, Source, auth::Auth, dir::DirSource, git::GitSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Secrets read at start.
pub struct Secrets {
    /// Signs webhooks; the webhook is off without it.
    pub webhook: Option<Vec<u8>>,
    /// Allows manual runs; they are off without it.
    pub api: Option<Vec<u8>>,
    /// Needed to read the page and API, when set.
    pub view: Option<Vec<u8>>,
    /// `TEND_GIT_TOKEN`, for https remotes.
    pub git: Option<String>,
}

impl Secrets {
    /// Reads the secret files `options` names and `TEND_GIT_TOKEN`.
    pub fn read(options: &Options) -> Result<Secrets, DaemonError> {
        let file = |p: &Option<PathBuf>| p.as_deref().map(read_secret).transpose();
        Ok(Secrets {
            webhook: file(&options.webhook_secret_file)?,
            api: file(&options.api_token_file)?,
            view: file(&options.view_token_file)?,
            git: std::env::var("TEND_GIT_TOKEN")
                .ok()
                .filter(|t| !t.is_empty()),
        })
    }
}

/// A secret file's content without its final line break; empty is an error.
fn read_secret(path: &Path) -> Result<Vec<u8>, DaemonError> {
    let bad = |why: String| DaemonError::Secret {
        path: path.to_owned(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let secret = text.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
    if secret.is_empty() {
        return Err(bad("it is empty".into()));
    }
    Ok(secret)
}

/// The source `options` names and how to show it (credentials redacted).
pub fn source(
    options: &Options,
    token: Option<String>,
    cancel: Arc<AtomicBool>,
) -> Result<(Source, String), DaemonError> {
    let given = &options.source;
    let bad = |why: String| DaemonError::Source {
        given: given.clone(),
        why,
    };
    if source::is_plain_dir(given) {
        let path = std::fs::canonicalize(given).map_err(|e| bad(e.to_string()))?;
        let shown = path.display().to_string();
        return Ok((Source::Dir(DirSource::new(&path)), shown));
    }
    let local = Path::new(given);
    let scp_like = given
        .split_once(':')
        .is_some_and(|(host, _)| !host.contains('/'));
    let url = if given.contains("://") || (scp_like && !local.exists()) {
        given.clone()
    } else if local.exists() {
        let path = std::fs::canonicalize(local).map_err(|e| bad(e.to_string()))?;
        path.display().to_string()
    } else {
        return Err(bad(
            "does not exist (give a local path, or a URL such as ssh://, git://, https://)".into(),
        ));
    };
    let known_hosts = options
        .known_hosts
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/known_hosts")));
    let auth = Auth {
        ssh_key: options.ssh_key.clone(),
        known_hosts,
        accept_new: options.ssh_accept_new,
        https_token: token,
    };
    let git = GitSource::new(&url, options.branch.clone(), auth, &options.data, cancel);
    Ok((Source::Git(git), source::redact_url(&url)))
}

/// The status before the first fetch of `shown` (following `branch`).
pub fn initial_status(branch: Option<String>, shown: String, mode: SourceMode) -> Status {
    Status {
        source: SourceStatus {
            url: shown,
            branch,
            mode,
            uncommitted: mode == SourceMode::Directory,
            fetched_commit: None,
            applied_commit: None,
            applied_summary: None,
            applied_at: None,
            last_fetch_at: None,
            last_success_at: None,
            last_fetch_error: None,
        },
        config_errors: Vec::new(),
        desired: DesiredSummary::default(),
    }
}

//! Where the config comes from: a git remote ([`git::GitSource`]) or, in dev
//! mode, a plain local folder ([`dir::DirSource`]). Both are synchronous
//! (git2 blocks); the daemon calls them through `spawn_blocking`. A fetch
//! yields a [`Fetched`] commit; a snapshot is that commit's files on disk.

pub mod auth;
pub mod dir;
pub mod git;
pub mod snapshot;

use crate::model::SourceMode;
use std::path::{Path, PathBuf};

/// The newest state of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Commit id (40-hex), or the folder digest in dev mode.
    pub commit: String,
    /// Tree id (content digest of the commit).
    pub tree: String,
    /// Subject line of the commit message.
    pub summary: String,
    /// The previous tip, when the new one does not contain it (force push).
    pub rewritten_from: Option<String>,
    /// Why the local clone was replaced during this fetch, if it was.
    pub recloned: Option<String>,
}

/// Why fetching or materialising failed.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The remote could not be reached or refused us; retry later.
    #[error("{0}")]
    Remote(String),
    /// The local clone is unusable; it is cloned again.
    #[error("local clone: {0}")]
    Local(String),
    /// The branch does not exist on the remote.
    #[error("branch `{0}` not found on the remote")]
    BranchNotFound(String),
    /// A fetch was interrupted by shutdown.
    #[error("cancelled by shutdown")]
    Cancelled,
    /// The commit's tree holds more than a snapshot may.
    #[error(
        "repository too large: {entries} entries, {bytes} bytes (limits: {} entries, {} bytes)",
        snapshot::MAX_ENTRIES,
        snapshot::MAX_BYTES
    )]
    TooLarge {
        /// Entries seen when the limit was passed.
        entries: usize,
        /// Bytes seen when the limit was passed.
        bytes: u64,
    },
    /// A tree entry with a name that could escape the snapshot.
    #[error("refusing tree entry `{0}`: its name could escape the snapshot folder")]
    BadEntry(String),
    /// A file system operation failed.
    #[error("cannot {what} {path}: {cause}")]
    Io {
        /// What was attempted.
        what: &'static str,
        /// On which path.
        path: PathBuf,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// The folder watcher could not start.
    #[error("cannot watch folder: {0}")]
    Watch(String),
}

impl SourceError {
    pub(crate) fn io(what: &'static str, path: &Path, cause: std::io::Error) -> Self {
        SourceError::Io {
            what,
            path: path.to_owned(),
            cause,
        }
    }

    pub(crate) fn git(what: &'static str) -> impl Fn(git2::Error) -> SourceError {
        move |e| SourceError::Local(format!("{what}: {}", e.message()))
    }

    /// Sorts a git2 error into "the local clone is broken" or "the remote failed".
    pub(crate) fn classify(e: git2::Error) -> Self {
        use git2::ErrorClass as C;
        let message = match e.message() {
            "" | "no error" => format!("git error ({:?}, {:?})", e.class(), e.code()),
            m => m.to_owned(),
        };
        match e.class() {
            C::Odb | C::Object | C::Repository | C::Reference | C::Index | C::Zlib | C::Tree => {
                SourceError::Local(message)
            }
            _ => SourceError::Remote(message),
        }
    }

    /// True when the commit itself is unusable (keep the last good one and
    /// report it like a config error), rather than the fetch.
    pub fn is_bad_commit(&self) -> bool {
        matches!(
            self,
            SourceError::TooLarge { .. } | SourceError::BadEntry(_)
        )
    }
}

/// The config source the daemon follows.
pub enum Source {
    /// A git remote.
    Git(git::GitSource),
    /// A plain folder (dev mode).
    Dir(dir::DirSource),
}

impl Source {
    /// Git remote or plain folder.
    pub fn mode(&self) -> SourceMode {
        match self {
            Source::Git(_) => SourceMode::Git,
            Source::Dir(_) => SourceMode::Directory,
        }
    }

    /// The branch followed, once known.
    pub fn branch(&self) -> Option<&str> {
        match self {
            Source::Git(g) => g.branch(),
            Source::Dir(_) => None,
        }
    }

    /// Fetches the newest state.
    pub fn fetch(&mut self) -> Result<Fetched, SourceError> {
        match self {
            Source::Git(g) => g.fetch(),
            Source::Dir(d) => d.fetch(),
        }
    }

    /// The files of `commit` on disk (the folder itself in dev mode).
    pub fn snapshot(&self, commit: &str) -> Result<PathBuf, SourceError> {
        match self {
            Source::Git(g) => g.snapshot(commit),
            Source::Dir(d) => Ok(d.path().to_owned()),
        }
    }

    /// Removes snapshots other than those of `keep`.
    pub fn prune(&self, keep: &[&str]) {
        if let Source::Git(g) = self {
            g.prune(keep);
        }
    }
}

/// True when `source` names a plain local folder that is not a git
/// repository (dev mode).
pub fn is_plain_dir(source: &str) -> bool {
    let path = Path::new(source);
    path.is_dir() && !path.join(".git").exists() && !path.join("HEAD").is_file()
}

/// The URL with any password or token replaced by `***`, for display.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = match (userinfo.contains(':'), scheme.starts_with("http")) {
                (true, _) => format!("{user}:***"),
                (false, true) => "***".to_owned(),
                (false, false) => return url.to_owned(),
            };
            let sep = if path.is_empty() && !rest.contains('/') {
                ""
            } else {
                "/"
            };
            format!("{scheme}://{masked}@{host}{sep}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_are_redacted() {
        assert_eq!(
            redact_url("https://u:tok@git.lan/r.git"),
            "https://u:***@git.lan/r.git"
        );
        assert_eq!(
            redact_url("https://tok@git.lan/r.git"),
            "https://***@git.lan/r.git"
        );
        assert_eq!(
            redact_url("git://127.0.0.1:9418/r.git"),
            "git://127.0.0.1:9418/r.git"
        );
        assert_eq!(redact_url("/srv/config"), "/srv/config");
        assert_eq!(
            redact_url("ssh://git@nas:2222/cfg.git"),
            "ssh://git@nas:2222/cfg.git"
        );
    }
}

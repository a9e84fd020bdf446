//! A git remote followed through a bare clone in the data dir (git2).
//!
//! Each fetch updates one remote-tracking ref; a new tip that does not
//! contain the previous one is a history rewrite (force push). A local clone
//! that is missing or unusable is cloned again; a remote that cannot be
//! reached is an error the caller backs off from, never a reason to drop
//! the commit in force.

use super::auth::Auth;
use super::{Fetched, SourceError, snapshot};
use git2::{AutotagOption, Direction, FetchOptions, Oid, Repository};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

/// A git remote and its local bare clone.
pub struct GitSource {
    url: String,
    branch: Option<String>,
    auth: Auth,
    repo_dir: PathBuf,
    snapshots: PathBuf,
    cancel: Arc<AtomicBool>,
    refused: Arc<Mutex<Option<String>>>,
}

impl GitSource {
    /// A source for `url` with its clone and snapshots under `data`.
    pub fn new(
        url: &str,
        branch: Option<String>,
        auth: Auth,
        data: &Path,
        cancel: Arc<AtomicBool>,
    ) -> Self {
        GitSource {
            url: url.to_owned(),
            branch,
            auth,
            repo_dir: data.join("repo.git"),
            snapshots: data.join("snapshots"),
            cancel,
            refused: Arc::default(),
        }
    }

    /// The branch followed, once known.
    pub fn branch(&self) -> Option<&str> {
        self.branch.as_deref()
    }

    /// Fetches the branch; clones again (once) when the local clone is broken.
    pub fn fetch(&mut self) -> Result<Fetched, SourceError> {
        match self.try_fetch() {
            Err(SourceError::Local(why)) => {
                tracing::warn!(cause = %why, dir = %self.repo_dir.display(), "local clone unusable; cloning again");
                snapshot::remove(&self.repo_dir);
                let mut fetched = self.try_fetch()?;
                fetched.recloned = Some(why);
                Ok(fetched)
            }
            other => other,
        }
    }

    fn open(&self) -> Result<Repository, SourceError> {
        let local = |e: git2::Error| SourceError::Local(e.message().to_owned());
        if self.repo_dir.exists() {
            Repository::open_bare(&self.repo_dir).map_err(local)
        } else {
            Repository::init_bare(&self.repo_dir).map_err(local)
        }
    }

    fn port(&self) -> Option<u16> {
        let rest = self.url.strip_prefix("ssh://")?;
        let host = rest.split('/').next()?.rsplit('@').next()?;
        host.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
    }

    fn default_branch(&self, repo: &Repository) -> Result<String, SourceError> {
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(SourceError::classify)?;
        let cb = self
            .auth
            .callbacks(self.port(), self.cancel.clone(), self.refused.clone());
        let conn = remote
            .connect_auth(Direction::Fetch, Some(cb), None)
            .map_err(|e| self.cancelled_or(e))?;
        let head = conn.default_branch().ok();
        if let Some(name) = head.as_ref().and_then(|b| b.as_str().ok()) {
            let heads = conn
                .list()
                .map(|l| l.iter().any(|h| h.name() == name))
                .unwrap_or(false);
            if heads {
                return Ok(name.strip_prefix("refs/heads/").unwrap_or(name).to_owned());
            }
        }
        // The remote's HEAD names no existing branch (a bare repo whose HEAD
        // still says master): take main, master, or the only branch.
        let heads: Vec<String> = conn
            .list()
            .map_err(SourceError::classify)?
            .iter()
            .filter_map(|h| h.name().strip_prefix("refs/heads/").map(str::to_owned))
            .collect();
        ["main", "master"]
            .iter()
            .find(|b| heads.iter().any(|h| h == *b))
            .map(|b| b.to_string())
            .or_else(|| (heads.len() == 1).then(|| heads[0].clone()))
            .ok_or_else(|| {
                SourceError::Remote(format!(
                    "cannot tell the remote's default branch (branches: {}); give --branch",
                    if heads.is_empty() {
                        "none".to_owned()
                    } else {
                        heads.join(", ")
                    }
                ))
            })
    }

    fn try_fetch(&mut self) -> Result<Fetched, SourceError> {
        let repo = self.open()?;
        let branch = match &self.branch {
            Some(b) => b.clone(),
            None => {
                let b = self.default_branch(&repo)?;
                self.branch = Some(b.clone());
                b
            }
        };
        let tracking = format!("refs/remotes/origin/{branch}");
        let old = repo.refname_to_id(&tracking).ok();
        let mut remote = repo
            .remote_anonymous(&self.url)
            .map_err(SourceError::classify)?;
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.auth.callbacks(
            self.port(),
            self.cancel.clone(),
            self.refused.clone(),
        ));
        options.download_tags(AutotagOption::None);
        let refspec = format!("+refs/heads/{branch}:{tracking}");
        remote
            .fetch(&[refspec.as_str()], Some(&mut options), None)
            .map_err(|e| self.cancelled_or(e))?;
        let on_remote = remote
            .list()
            .map(|heads| {
                heads
                    .iter()
                    .any(|h| h.name() == format!("refs/heads/{branch}"))
            })
            .unwrap_or(true);
        let new = match repo.refname_to_id(&tracking) {
            Ok(id) if on_remote => id,
            _ => return Err(SourceError::BranchNotFound(branch)),
        };
        let commit = repo
            .find_commit(new)
            .map_err(|e| SourceError::Local(e.message().to_owned()))?;
        let rewritten_from = old
            .filter(|o| *o != new && !repo.graph_descendant_of(new, *o).unwrap_or(false))
            .map(|o| o.to_string());
        Ok(Fetched {
            commit: new.to_string(),
            tree: commit.tree_id().to_string(),
            summary: String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default())
                .into_owned(),
            rewritten_from,
            recloned: None,
        })
    }

    /// The error of a transfer: cancelled by shutdown, a refused host key
    /// (with tend's reason), or what libgit2 said.
    fn cancelled_or(&self, e: git2::Error) -> SourceError {
        let refused = self.refused.lock().ok().and_then(|mut slot| slot.take());
        if self.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            SourceError::Cancelled
        } else if let Some(reason) = refused {
            SourceError::Remote(reason)
        } else {
            SourceError::classify(e)
        }
    }

    /// The snapshot folder of a fetched commit, written if needed.
    pub fn snapshot(&self, commit: &str) -> Result<PathBuf, SourceError> {
        let repo = self.open()?;
        let oid = Oid::from_str(commit).map_err(SourceError::git("parse commit id"))?;
        std::fs::create_dir_all(&self.snapshots)
            .map_err(|e| SourceError::io("create", &self.snapshots, e))?;
        snapshot::materialize(&repo, oid, &self.snapshots)
    }

    /// Removes snapshots other than those of `keep`.
    pub fn prune(&self, keep: &[&str]) {
        snapshot::prune(&self.snapshots, keep);
    }
}

//! Where the commits controller gets commits: the [`Repo`] trait, the real
//! [`Source`] behind it, and the lock every blocking call takes.

use crate::source::{Fetched, Source, SourceError};
use std::sync::Mutex;

/// Where commits come from: the real [`Source`] (git remote or folder), a
/// fake in unit tests. Called on the blocking pool.
pub trait Repo: Send + 'static {
    /// Fetches and returns the newest commit of the followed branch.
    fn fetch(&mut self) -> Result<Fetched, SourceError>;
    /// A read-only folder holding `commit`'s files.
    fn snapshot(&self, commit: &str) -> Result<std::path::PathBuf, SourceError>;
    /// Deletes snapshots but those of `keep`.
    fn prune(&self, keep: &[&str]);
    /// The branch followed, once known.
    fn branch(&self) -> Option<&str>;
}

/// The real source: each call is the [`Source`] method of the same name.
impl Repo for Source {
    fn fetch(&mut self) -> Result<Fetched, SourceError> {
        Source::fetch(self)
    }
    fn snapshot(&self, commit: &str) -> Result<std::path::PathBuf, SourceError> {
        Source::snapshot(self, commit)
    }
    fn prune(&self, keep: &[&str]) {
        Source::prune(self, keep)
    }
    fn branch(&self) -> Option<&str> {
        Source::branch(self)
    }
}

/// The repository, even after a panic elsewhere held its lock (the source
/// holds no invariant a panic could break half-way: a fetch is redone).
pub(super) fn lock<R>(source: &Mutex<R>) -> std::sync::MutexGuard<'_, R> {
    source
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

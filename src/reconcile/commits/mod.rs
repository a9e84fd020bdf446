//! The commits controller: triggers → queue → fetch → validate → the commit
//! in force → status.
//!
//! Level-triggered, as in kube-runtime: a trigger only asks for a
//! reconcile; each reconcile recomputes from the newest commit and what is
//! stored, so lost or repeated triggers are harmless. A commit that fails
//! validation is never applied: the last good one stays in force, the
//! errors go to the status and the audit log. A reconcile with nothing new
//! writes nothing. Blocking work (git2, redb, file reads) runs in
//! `spawn_blocking`.
//!
//! A commit is *considered* once: a fetch that returns the commit in force,
//! or one rejected already, changes nothing. A rejected commit is told once
//! (audit event, alert), and its successor being accepted is told as the
//! recovery. Restarting restores the commit in force from the store before
//! the first fetch, so a remote that is down at start leaves the homelab
//! running the last good commit, not nothing.

use super::clock::SharedClock;
use super::keys;
use super::notify::letters::Letters;
use super::queue::{Queue, Reason};
use super::triggers;
use crate::config::{self, LoadError};
use crate::model::{Applied, AuditKind, Desired, DesiredSummary, Diagnostic, Status, short_commit};
use crate::source::{Fetched, Source, SourceError};
use crate::store::Store;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tracing::Instrument;

mod repo;
mod told;

pub use repo::Repo;
use repo::lock;
use told::whole_commit;

/// Why one reconcile step failed (the daemon logs it and carries on).
#[derive(Debug, thiserror::Error)]
pub enum CommitsError {
    /// Fetching or materialising failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The commits controller: owns the source, writes the store, publishes
/// the status and the commit in force.
pub struct Commits<R: Repo = Source> {
    source: Arc<Mutex<R>>,
    store: Store,
    status: watch::Sender<Status>,
    queue: Arc<Queue>,
    /// Consecutive failed fetches; the poll timer backs off with it.
    pub failures: Arc<AtomicU32>,
    /// The commit in force, as the scheduler and web layer see it.
    published: watch::Sender<Option<Arc<Applied>>>,
    rejected: Option<String>,
    /// Where metrics and live notices go.
    observers: crate::live::Observers,
    /// Turns config errors into alerts.
    mail: Option<Letters>,
    /// The time of day.
    clock: SharedClock,
}

impl<R: Repo> Commits<R> {
    /// A controller over `source` and `store`, publishing to `status`.
    pub fn new(source: R, store: Store, status: watch::Sender<Status>, queue: Arc<Queue>) -> Self {
        Commits {
            source: Arc::new(Mutex::new(source)),
            store,
            status,
            queue,
            failures: Arc::new(AtomicU32::new(0)),
            published: watch::Sender::new(None),
            rejected: None,
            observers: crate::live::Observers::default(),
            mail: None,
            clock: super::clock::system(),
        }
    }

    /// Reads the time from `clock` (tests: a paused one).
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sends alerts about rejected (and again accepted) commits through `mail`.
    pub fn with_letters(mut self, mail: Letters) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Reports to `observers` (metrics, live notices).
    pub fn with_observers(mut self, observers: crate::live::Observers) -> Self {
        self.observers = observers;
        self
    }

    /// Restores the commit in force from the store, if its snapshot is still
    /// on disk and valid, so the last good state holds before any fetch.
    pub async fn restore(&mut self) -> Result<(), CommitsError> {
        let store = self.store.clone();
        let source = self.source.clone();
        let now = self.clock.now();
        let found = tokio::task::spawn_blocking(move || -> Result<_, CommitsError> {
            let Some(commit) = store.get(keys::APPLIED_COMMIT)? else {
                return Ok(None);
            };
            let summary = store.get(keys::APPLIED_SUMMARY)?.unwrap_or_default();
            // Validated as of its acceptance, so a commit in force stays
            // valid however much later tend restarts (a one-off `at` that
            // has since passed, say).
            let validated = store.get(keys::APPLIED_AT)?.unwrap_or(now);
            let dir = lock(&source).snapshot(&commit)?;
            Ok(config::load(&dir, validated)
                .ok()
                .map(|d| (commit, summary, dir, d)))
        })
        .await??;
        if let Some((commit, summary, dir, desired)) = found {
            tracing::info!(%commit, "restored the commit in force from the store");
            self.set_applied(commit, summary, dir, desired);
        }
        Ok(())
    }

    /// Runs until `shutdown` turns true; finishes the reconcile in progress.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        self.tell(AuditKind::Started, None, "tend started".into())
            .await;
        self.queue.request(Reason::Startup);
        loop {
            tokio::select! {
                reasons = self.queue.next() => self.reconcile(reasons).await,
                _ = triggers::stopped(&mut shutdown) => break,
            }
        }
        self.tell(AuditKind::Stopped, None, "tend stopped".into())
            .await;
    }

    /// One pass for `reasons`, in a span naming them and the commit.
    async fn reconcile(&mut self, reasons: BTreeSet<Reason>) {
        let why = reasons
            .iter()
            .map(|r| r.word())
            .collect::<Vec<_>>()
            .join(", ");
        let span = tracing::info_span!("reconcile", reason = %why, commit = tracing::field::Empty);
        self.reconcile_in(why, span.clone()).instrument(span).await;
    }

    /// Fetches; a commit not seen yet is considered, anything else is
    /// left as it is (a pass with nothing new writes nothing).
    async fn reconcile_in(&mut self, why: String, span: tracing::Span) {
        let source = self.source.clone();
        let fetched = tokio::task::spawn_blocking(move || lock(&source).fetch()).await;
        let fetched = match fetched
            .map_err(CommitsError::from)
            .and_then(|r| r.map_err(Into::into))
        {
            Ok(f) => f,
            Err(e) => return self.fetch_failed(e).await,
        };
        span.record("commit", fetched.commit.as_str());
        self.fetch_succeeded(&fetched).await;
        let current = self.in_force().map(|a| a.commit.clone());
        if current.as_deref() == Some(fetched.commit.as_str())
            || self.rejected.as_deref() == Some(&fetched.commit)
        {
            tracing::debug!("nothing new");
            return;
        }
        if let Err(e) = self.consider(&fetched, &why).await {
            tracing::error!(cause = %e, "reconcile failed");
            self.fetch_failed(e).await;
        }
    }

    /// Validates a new commit and applies it, or rejects it. Validation
    /// reads the whole commit (`config::load`); its errors carry
    /// file:line:col and all go into the status at once.
    async fn consider(&mut self, fetched: &Fetched, why: &str) -> Result<(), CommitsError> {
        let short = short_commit(&fetched.commit);
        if let Some(old) = &fetched.rewritten_from {
            let reason = format!(
                "history rewritten: {short} does not contain the previous tip {}",
                short_commit(old)
            );
            let details = json!({"previous": old});
            self.log_event(
                AuditKind::HistoryRewritten,
                Some(&fetched.commit),
                reason,
                details,
                vec![],
            )
            .await;
        }
        if let Some(why) = &fetched.recloned {
            let reason = format!("local clone was unusable ({why}); cloned again");
            self.tell(AuditKind::Recloned, Some(&fetched.commit), reason)
                .await;
        }
        let source = self.source.clone();
        let commit = fetched.commit.clone();
        let now = self.clock.now();
        let loaded = tokio::task::spawn_blocking(move || {
            let dir = lock(&source).snapshot(&commit)?;
            Ok::<_, SourceError>((config::load(&dir, now), dir))
        })
        .await?;
        let diagnostics = match loaded {
            Ok((Ok(desired), dir)) => return self.accept(fetched, why, (dir, now), desired).await,
            Ok((Err(LoadError::Invalid(report)), _)) => report.diagnostics,
            Ok((Err(e @ LoadError::Unreadable { .. }), _)) => vec![whole_commit(e.to_string())],
            Err(e) if e.is_bad_commit() => vec![whole_commit(e.to_string())],
            Err(e) => return Err(e.into()),
        };
        self.reject(fetched, diagnostics).await;
        Ok(())
    }

    /// Puts a valid commit in force and records it: the audit event (with
    /// what changed), the stored commit in force and, when it ends a run of
    /// rejected commits, the recovery's alert.
    async fn accept(
        &mut self,
        fetched: &Fetched,
        why: &str,
        (dir, validated): (std::path::PathBuf, chrono::DateTime<chrono::Utc>),
        desired: Desired,
    ) -> Result<(), CommitsError> {
        let short = short_commit(&fetched.commit);
        let reason = format!("new commit {short}: {} (found by {why})", fetched.summary);
        let previous = self.in_force().as_ref().map(|a| a.commit.clone());
        let details =
            json!({"summary": fetched.summary, "tree": fetched.tree, "previous": previous});
        let meta = vec![
            keys::APPLIED_COMMIT.with(&fetched.commit),
            keys::APPLIED_SUMMARY.with(&fetched.summary),
            keys::APPLIED_TREE.with(&fetched.tree),
            keys::APPLIED_AT.with(&validated),
        ];
        self.log_event(
            AuditKind::CommitApplied,
            Some(&fetched.commit),
            reason,
            details,
            meta,
        )
        .await;
        tracing::info!(commit = %fetched.commit, summary = %fetched.summary, "applied");
        self.rejected = None;
        self.set_applied(
            fetched.commit.clone(),
            fetched.summary.clone(),
            dir,
            desired,
        );
        self.prune();
        Ok(())
    }

    /// Keeps `fetched` out: its errors go to the status and the audit log
    /// (with alerts), the commit in force stays.
    async fn reject(&mut self, fetched: &Fetched, diagnostics: Vec<Diagnostic>) {
        let short = short_commit(&fetched.commit);
        let kept = self
            .in_force()
            .map_or("nothing is applied yet".to_owned(), |a| {
                format!("{} stays in force", short_commit(&a.commit))
            });
        let reason = format!(
            "commit {short} rejected: {} config error(s); {kept}",
            diagnostics.len()
        );
        tracing::warn!(commit = %fetched.commit, errors = diagnostics.len(), "commit rejected");
        let details = json!({"summary": fetched.summary, "errors": diagnostics});
        let meta = vec![keys::REJECTED_COMMIT.with(&fetched.commit)];
        self.log_event(
            AuditKind::ConfigError,
            Some(&fetched.commit),
            reason,
            details,
            meta,
        )
        .await;
        self.rejected = Some(fetched.commit.clone());
        self.status.send_modify(|s| {
            s.source.fetched_commit = Some(fetched.commit.clone());
            s.config_errors = diagnostics;
        });
        self.prune();
    }

    /// Publishes a commit in force: the status, the watch channel the other
    /// controllers follow, and a live notice.
    fn set_applied(
        &mut self,
        commit: String,
        summary: String,
        dir: std::path::PathBuf,
        desired: Desired,
    ) {
        let desired = Arc::new(desired);
        let now = self.clock.now();
        let counts = DesiredSummary {
            jobs: desired.jobs.len(),
            stacks: desired.stacks.len(),
        };
        self.status.send_modify(|s| {
            s.source.fetched_commit = Some(commit.clone());
            s.source.applied_commit = Some(commit.clone());
            s.source.applied_summary = Some(summary);
            s.source.applied_at = Some(now);
            s.config_errors.clear();
            s.desired = counts;
        });
        let applied = Arc::new(Applied {
            commit,
            dir,
            desired,
        });
        let commit = applied.commit.clone();
        self.published.send_replace(Some(applied));
        self.observers
            .hub
            .publish(crate::live::Notice::CommitApplied { commit });
    }

    /// The commit in force now (`None` before the first valid commit).
    fn in_force(&self) -> Option<Arc<Applied>> {
        self.published.borrow().clone()
    }

    /// Follows the commit in force (for the scheduler and the web layer).
    pub fn applied(&self) -> watch::Receiver<Option<Arc<Applied>>> {
        self.published.subscribe()
    }

    /// Deletes snapshots of commits no longer in force (in the background);
    /// the snapshot of the one in force stays.
    fn prune(&self) {
        let keep: Vec<String> = self.in_force().iter().map(|a| a.commit.clone()).collect();
        let source = self.source.clone();
        tokio::task::spawn_blocking(move || {
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            lock(&source).prune(&keep);
        });
    }
}

#[cfg(test)]
mod tests;

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

use super::audit::record;
use super::clock::SharedClock;
use super::notify::letters::Letters;
use super::queue::{Queue, Reason};
use super::triggers;
use crate::config::{self, LoadError};
use crate::model::{Applied, AuditKind, Desired, DesiredSummary, Diagnostic, Status, short_commit};
use crate::source::{Fetched, Source, SourceError};
use crate::store::Store;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tracing::Instrument;

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
            let Some(commit) = store.meta::<String>("applied_commit")? else {
                return Ok(None);
            };
            let summary = store.meta::<String>("applied_summary")?.unwrap_or_default();
            let dir = lock(&source).snapshot(&commit)?;
            Ok(config::load(&dir, now)
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
        self.log_event(
            AuditKind::Started,
            None,
            "tend started".into(),
            json!(null),
            vec![],
        )
        .await;
        self.queue.request(Reason::Startup);
        loop {
            tokio::select! {
                reasons = self.queue.next() => self.reconcile(reasons).await,
                _ = triggers::stopped(&mut shutdown) => break,
            }
        }
        self.log_event(
            AuditKind::Stopped,
            None,
            "tend stopped".into(),
            json!(null),
            vec![],
        )
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

    /// Validates a new commit and applies it, or rejects it.
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
            self.log_event(
                AuditKind::Recloned,
                Some(&fetched.commit),
                reason,
                json!(null),
                vec![],
            )
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
            Ok((Ok(desired), dir)) => return self.accept(fetched, why, dir, desired).await,
            Ok((Err(LoadError::Invalid(report)), _)) => report.diagnostics,
            Ok((Err(e @ LoadError::Unreadable { .. }), _)) => vec![whole_commit(e.to_string())],
            Err(e) if e.is_bad_commit() => vec![whole_commit(e.to_string())],
            Err(e) => return Err(e.into()),
        };
        self.reject(fetched, diagnostics).await;
        Ok(())
    }

    /// Puts a valid commit in force and records it.
    async fn accept(
        &mut self,
        fetched: &Fetched,
        why: &str,
        dir: std::path::PathBuf,
        desired: Desired,
    ) -> Result<(), CommitsError> {
        let short = short_commit(&fetched.commit);
        let reason = format!("new commit {short}: {} (found by {why})", fetched.summary);
        let previous = self.in_force().as_ref().map(|a| a.commit.clone());
        let details =
            json!({"summary": fetched.summary, "tree": fetched.tree, "previous": previous});
        let meta = vec![
            ("applied_commit", json!(fetched.commit)),
            ("applied_summary", json!(fetched.summary)),
            ("applied_tree", json!(fetched.tree)),
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
        let meta = vec![("rejected_commit", json!(fetched.commit))];
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

    /// The commit in force now.
    fn in_force(&self) -> Option<Arc<Applied>> {
        self.published.borrow().clone()
    }

    /// Follows the commit in force (for the scheduler and the web layer).
    pub fn applied(&self) -> watch::Receiver<Option<Arc<Applied>>> {
        self.published.subscribe()
    }

    /// Deletes snapshots of commits no longer in force (in the background).
    fn prune(&self) {
        let keep: Vec<String> = self.in_force().iter().map(|a| a.commit.clone()).collect();
        let source = self.source.clone();
        tokio::task::spawn_blocking(move || {
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            lock(&source).prune(&keep);
        });
    }

    /// Notes a fetch that worked; the first after failures is told as a
    /// recovery and resets the poll backoff.
    async fn fetch_succeeded(&mut self, fetched: &Fetched) {
        let branch = lock(&self.source).branch().map(str::to_owned);
        let now = self.clock.now();
        // A new commit shows as fetched together with its verdict (applied
        // or rejected), so readers never see it half-considered.
        let known = self.in_force().as_ref().map(|a| &a.commit) == Some(&fetched.commit)
            || self.rejected.as_ref() == Some(&fetched.commit);
        self.status.send_modify(|s| {
            if known {
                s.source.fetched_commit = Some(fetched.commit.clone());
            }
            s.source.last_fetch_at = Some(now);
            s.source.last_success_at = Some(now);
            s.source.last_fetch_error = None;
            s.source.branch = branch.or(s.source.branch.take());
        });
        if self.failures.swap(0, Ordering::Relaxed) > 0 {
            let reason = "fetching works again".to_owned();
            self.log_event(
                AuditKind::FetchRecovered,
                Some(&fetched.commit),
                reason,
                json!(null),
                vec![],
            )
            .await;
        }
    }

    /// Notes a fetch that failed: told once per streak, counted for the
    /// poll backoff, shown in the status; the commit in force stays.
    async fn fetch_failed(&mut self, e: CommitsError) {
        let message = e.to_string();
        if matches!(e, CommitsError::Source(SourceError::Cancelled)) {
            return;
        }
        tracing::warn!(cause = %message, "fetch failed; the commit in force stays");
        self.observers.metrics.fetch_failed();
        if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
            let reason = message.clone();
            self.log_event(AuditKind::FetchFailed, None, reason, json!(null), vec![])
                .await;
        }
        self.status.send_modify(|s| {
            s.source.last_fetch_at = Some(self.clock.now());
            s.source.last_fetch_error = Some(message);
        });
    }

    /// Records an audit event with `meta` values and the alerts it causes.
    async fn log_event(
        &self,
        kind: AuditKind,
        commit: Option<&str>,
        reason: String,
        details: serde_json::Value,
        meta: Vec<(&'static str, serde_json::Value)>,
    ) {
        let letters = match &self.mail {
            Some(mail) => mail.event(kind, None, commit, &reason),
            None => Vec::new(),
        };
        record(&self.store, kind, commit, reason, details, meta, letters).await;
    }
}

/// A diagnostic about the commit as a whole (no file to point at).
fn whole_commit(message: String) -> Diagnostic {
    Diagnostic {
        file: ".".into(),
        line: 1,
        column: 1,
        message,
    }
}

/// The repository, even after a panic elsewhere held its lock.
fn lock<R>(source: &Mutex<R>) -> std::sync::MutexGuard<'_, R> {
    source
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;

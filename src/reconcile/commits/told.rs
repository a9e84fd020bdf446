//! What the commits controller tells: fetches that work again or fail (once
//! per streak, counted for the poll backoff), and audit events with the
//! alerts they cause.
//!
//! "Once per streak" is the rule for everything told here: the first
//! failed fetch after a good one is an event (and an alert, if a rule asks
//! for it), the following failures only count, and the first good fetch
//! after them is told as the recovery. The count is what the poll timer's
//! backoff reads.

use super::repo::{Repo, lock};
use super::{Commits, CommitsError};
use crate::model::{AuditKind, Diagnostic};
use crate::reconcile::audit::record;
use crate::source::{Fetched, SourceError};
use serde_json::json;
use std::sync::atomic::Ordering;

impl<R: Repo> Commits<R> {
    /// Notes a fetch that worked; the first after failures is told as a
    /// recovery and resets the poll backoff.
    pub(super) async fn fetch_succeeded(&mut self, fetched: &Fetched) {
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
            self.tell(AuditKind::FetchRecovered, Some(&fetched.commit), reason)
                .await;
        }
    }

    /// Notes a fetch that failed: told once per streak, counted for the
    /// poll backoff, shown in the status; the commit in force stays.
    pub(super) async fn fetch_failed(&mut self, e: CommitsError) {
        let message = e.to_string();
        if matches!(e, CommitsError::Source(SourceError::Cancelled)) {
            return;
        }
        tracing::warn!(cause = %message, "fetch failed; the commit in force stays");
        self.observers.metrics.fetch_failed();
        if self.failures.fetch_add(1, Ordering::Relaxed) == 0 {
            let reason = message.clone();
            self.tell(AuditKind::FetchFailed, None, reason).await;
        }
        self.status.send_modify(|s| {
            s.source.last_fetch_at = Some(self.clock.now());
            s.source.last_fetch_error = Some(message);
        });
    }

    /// Records an event without details or meta values.
    pub(super) async fn tell(&self, kind: AuditKind, commit: Option<&str>, reason: String) {
        self.log_event(kind, commit, reason, json!(null), vec![])
            .await;
    }

    /// Records an audit event with `meta` values and the alerts it causes.
    pub(super) async fn log_event(
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
pub(super) fn whole_commit(message: String) -> Diagnostic {
    Diagnostic {
        file: ".".into(),
        line: 1,
        column: 1,
        message,
    }
}

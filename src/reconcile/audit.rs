//! Writing the audit log from async code: one event (with `meta` values
//! and the alerts it causes) per call, on the blocking pool.

use crate::model::{AuditKind, Letter};
use crate::store::Store;

/// Writes an audit event, `meta` values and its alerts off the async
/// threads, in one transaction; a failure is logged, never fatal.
pub async fn record(
    store: &Store,
    kind: AuditKind,
    commit: Option<&str>,
    reason: String,
    details: serde_json::Value,
    meta: Vec<(&'static str, serde_json::Value)>,
    letters: Vec<Letter>,
) {
    let store = store.clone();
    let commit = commit.map(str::to_owned);
    let result = tokio::task::spawn_blocking(move || {
        store.record(kind, commit.as_deref(), reason, details, &meta, &letters)
    })
    .await;
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(cause = %e, ?kind, "could not record event"),
        Err(e) => tracing::error!(cause = %e, ?kind, "could not record event"),
    }
}

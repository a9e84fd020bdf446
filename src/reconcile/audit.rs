//! Writing the audit log from async code: one event (and `meta` values)
//! per call, on the blocking pool.

use crate::model::AuditKind;
use crate::store::Store;

/// Writes an audit event (and `meta` values) off the async threads; a
/// failure is logged, never fatal.
pub async fn record(
    store: &Store,
    kind: AuditKind,
    commit: Option<&str>,
    reason: String,
    details: serde_json::Value,
    meta: Vec<(&'static str, serde_json::Value)>,
) {
    let store = store.clone();
    let commit = commit.map(str::to_owned);
    let result = tokio::task::spawn_blocking(move || {
        store.record(kind, commit.as_deref(), reason, details, &meta)
    })
    .await;
    match result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(cause = %e, ?kind, "could not record event"),
        Err(e) => tracing::error!(cause = %e, ?kind, "could not record event"),
    }
}

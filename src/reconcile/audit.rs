//! The store from async code: [`call`] runs a store operation on the
//! blocking pool (redb is blocking) and [`logged`] does the same, logging a
//! failure under a message of the caller's and giving `None` — one place
//! instead of a `spawn_blocking` and a three-arm match at every call.
//! [`record`] writes one audit event (with `meta` values and the alerts it
//! causes) per call.
//!
//! A store failure never stops a controller: the caller decides whether
//! it is worth an error (`call`) or a log line (`logged`), and the pass
//! goes on with what it knows. The next pass writes again what it must.

use crate::model::{AuditKind, Letter};
use crate::store::{Store, StoreError};

/// Why a store call from async code failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The store refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Runs `f` on a clone of `store` on the blocking pool (redb blocks on
/// disk syncs; the async workers must not). A clone is cheap: the store is
/// a handle to one shared database.
pub async fn call<T, F>(store: &Store, f: F) -> Result<T, CallError>
where
    T: Send + 'static,
    F: FnOnce(Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = store.clone();
    Ok(tokio::task::spawn_blocking(move || f(store)).await??)
}

/// [`call`], with a failure logged as `what` (never fatal): `None` then.
pub async fn logged<T, F>(store: &Store, what: &str, f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce(Store) -> Result<T, StoreError> + Send + 'static,
{
    match call(store, f).await {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(cause = %e, "{what}");
            None
        }
    }
}

/// Writes an audit event, `meta` values and its alerts off the async
/// threads, in one transaction; a failure is logged, never fatal. One
/// transaction is what keeps an event and its alerts together: both are
/// stored, or neither is.
pub async fn record(
    store: &Store,
    kind: AuditKind,
    commit: Option<&str>,
    reason: String,
    details: serde_json::Value,
    meta: Vec<(&'static str, serde_json::Value)>,
    letters: Vec<Letter>,
) {
    let commit = commit.map(str::to_owned);
    let what = format!("could not record event {kind:?}");
    logged(store, &what, move |s| {
        s.record(kind, commit.as_deref(), reason, details, &meta, &letters)
    })
    .await;
}

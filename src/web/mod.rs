//! HTTP: the JSON API (`/api/v1/status`, `/api/v1/events`), health checks
//! (`/healthz`, `/readyz`), badges (`/badge/…`) and the signed git webhook
//! (`POST /hooks/git`).
//!
//! [`router`] takes its state as an argument and [`serve`] takes its
//! listener and shutdown signal (mini-redis style), so tests bind port 0 or
//! call the router directly. Reads come from a status watch channel and the
//! store's read-only handle; the webhook only requests a reconcile.

mod badge;
pub mod cache;
pub mod client;
mod detail;
mod fmt;
mod guard;
mod health;
mod job;
mod jobs;
mod notices;
mod page;
mod stream;
pub mod webhook;

use crate::model::{Applied, Status};
use crate::store::StoreReader;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Largest webhook body accepted (GitHub caps payloads at 25 MB; pushes to
/// a config repository are far smaller).
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

/// What the handlers read and the one thing they may do.
#[derive(Clone)]
pub struct AppState {
    /// The daemon's published status.
    pub status: watch::Receiver<Status>,
    /// Read-only store handle.
    pub store: StoreReader,
    /// Webhook secret; the webhook is off without one.
    pub webhook_secret: Option<Arc<Vec<u8>>>,
    /// Requests a reconcile (called by a verified webhook).
    pub on_push: Arc<dyn Fn() + Send + Sync>,
    /// Poll interval; `/readyz` fails when the last good fetch is older
    /// than three of these. `None` in dev mode.
    pub poll_interval: Option<Duration>,
    /// The commit in force (jobs and their schedules).
    pub applied: watch::Receiver<Option<Arc<Applied>>>,
    /// Bearer token for manual runs; they are off without one.
    pub api_token: Option<Arc<Vec<u8>>>,
    /// Starts a manual run of a job; answers with the run id.
    pub trigger: Option<TriggerFn>,
    /// The stacks as the last reconcile saw them.
    pub stacks: watch::Receiver<Vec<crate::plan::view::StackStatus>>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Token for reading the page and the API; reads are open without one.
    pub view_token: Option<Arc<Vec<u8>>>,
    /// Live notices for the SSE stream.
    pub live: crate::live::Hub,
    /// Rendered pages kept for a moment.
    pub pages: Arc<cache::Pages>,
}

impl AppState {
    /// What kept pages depend on besides the clock: notices published and
    /// runs written (see [`cache`]).
    pub fn page_key(&self) -> (u64, u64) {
        (self.live.published(), self.store.run_writes())
    }
}

/// Asks the scheduler to run a job now.
pub type TriggerFn =
    Arc<dyn Fn(String) -> tokio::sync::oneshot::Receiver<Result<u64, String>> + Send + Sync>;

/// `GET /api/v1/stacks`: `{"stacks": [...]}`.
async fn stacks(State(state): State<AppState>) -> Response {
    let stacks = state.stacks.borrow().clone();
    Json(serde_json::json!({ "stacks": stacks })).into_response()
}

/// `GET /metrics`: OpenMetrics text.
async fn metrics(State(state): State<AppState>) -> Response {
    let status = state.status.borrow().clone();
    let stacks = state.stacks.borrow().clone();
    let body = state.metrics.render(&status, &stacks);
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(axum::http::header::CONTENT_TYPE, kind)], body).into_response()
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::dashboard))
        .route("/assets/tend.css", get(page::css))
        .route("/assets/tend.js", get(page::js))
        .route("/jobs/{name}", get(job::page))
        .route("/runs/{id}", get(detail::run))
        .route("/events", get(detail::events))
        .route("/stacks/{name}", get(detail::stack))
        .route("/badge/jobs/{file}", get(badge::job))
        .route("/badge/stacks/{file}", get(badge::stack))
        .route("/api/v1/health", get(health::api))
        .route("/favicon-ok.svg", get(health::icon_ok))
        .route("/favicon-bad.svg", get(health::icon_bad))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(status))
        .route("/api/v1/events", get(events))
        .route("/api/v1/jobs", get(jobs::list))
        .route("/api/v1/jobs/{name}", get(job::detail))
        .route("/api/v1/stacks", get(stacks))
        .route("/api/v1/notifications", get(notices::list))
        .route("/metrics", get(metrics))
        .route("/api/v1/stream", get(stream::stream))
        .route("/api/v1/jobs/{name}/run", post(jobs::trigger))
        .route("/api/v1/runs", get(jobs::runs))
        .route("/api/v1/runs/{id}", get(jobs::run))
        .route("/api/v1/runs/{id}/log", get(jobs::log))
        .route(
            "/hooks/git",
            post(hook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn status(State(state): State<AppState>) -> Json<Status> {
    Json(state.status.borrow().clone())
}

#[derive(Deserialize)]
pub(super) struct Page {
    /// Page size.
    pub limit: Option<usize>,
    /// Cursor: events older than this `seq`.
    pub before: Option<u64>,
    /// Only events of this kind.
    pub kind: Option<crate::model::AuditKind>,
}

/// Events newest first, of `kind` when given, with the next page's cursor.
pub(super) async fn event_page(
    state: &AppState,
    page: &Page,
) -> Result<(Vec<crate::model::Event>, Option<u64>), Response> {
    let limit = page.limit.unwrap_or(50).clamp(1, 1000);
    let (store, kind, mut before) = (state.store.clone(), page.kind, page.before);
    blocking(move || {
        // Without a kind, one read; with one, read back in chunks (bounded).
        let mut found = Vec::new();
        for _ in 0..if kind.is_some() { 50 } else { 1 } {
            let chunk = store.events(if kind.is_some() { 500 } else { limit }, before)?;
            let Some(last) = chunk.last().map(|e| e.seq) else {
                break;
            };
            for e in chunk {
                if found.len() < limit && kind.is_none_or(|k| e.kind == k) {
                    found.push(e);
                }
            }
            before = Some(last);
            if found.len() == limit {
                break;
            }
        }
        let next = (found.len() == limit)
            .then(|| found.last().map(|e| e.seq))
            .flatten();
        Ok((found, next))
    })
    .await
}

async fn events(State(state): State<AppState>, Query(page): Query<Page>) -> Response {
    match event_page(&state, &page).await {
        Ok((events, next)) => Json(json!({"events": events, "next_before": next})).into_response(),
        Err(resp) => resp,
    }
}

async fn readyz(State(state): State<AppState>) -> Response {
    let status = state.status.borrow().clone();
    let mut problems = Vec::new();
    if status.source.applied_commit.is_none() {
        problems.push("no commit applied yet".to_owned());
    }
    if let Some(interval) = state.poll_interval {
        let limit = chrono::Duration::from_std(interval * 3).unwrap_or(chrono::Duration::MAX);
        match status.source.last_success_at {
            Some(t) if Utc::now() - t <= limit => {}
            Some(t) => problems.push(format!(
                "last successful fetch at {t} is older than three poll intervals"
            )),
            None => problems.push("no successful fetch yet".to_owned()),
        }
    }
    let code = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({"ready": problems.is_empty(), "problems": problems})),
    )
        .into_response()
}

async fn hook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Some(secret) = &state.webhook_secret else {
        return error(
            StatusCode::FORBIDDEN,
            "webhook is off: start tend with --webhook-secret-file",
        );
    };
    if let Err(e) = webhook::verify(&headers, &body, secret) {
        tracing::warn!(cause = %e, "webhook refused");
        return error(StatusCode::UNAUTHORIZED, &e.to_string());
    }
    let branch = state.status.borrow().source.branch.clone();
    match (webhook::pushed_branch(&body), branch) {
        (Some(pushed), Some(ours)) if pushed != ours => {
            let why = format!("push to `{pushed}`; following `{ours}`");
            (
                StatusCode::ACCEPTED,
                Json(json!({"queued": false, "reason": why})),
            )
                .into_response()
        }
        _ => {
            (state.on_push)();
            (StatusCode::ACCEPTED, Json(json!({"queued": true}))).into_response()
        }
    }
}

/// Runs a store read on the blocking pool; a failure becomes a 500 answer.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    }
}

fn error(code: StatusCode, message: &str) -> Response {
    (code, Json(json!({"error": message}))).into_response()
}

//! Job and run endpoints: `GET /api/v1/jobs`, `GET /api/v1/runs`,
//! `GET /api/v1/runs/{id}`, `GET /api/v1/runs/{id}/log` and the token-guarded
//! `POST /api/v1/jobs/{name}/run`.

use super::{AppState, blocking, error};
use crate::model::{Concurrency, Job, JobState, Missed, Outcome, Run, RunStatus};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `GET /api/v1/jobs`: each job of the commit in force with its next and
/// last run (kept for a moment like the dashboard).
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let key = state.page_key();
    let render = async || {
        let jobs = rows(&state).await?;
        serde_json::to_vec(&json!({ "jobs": jobs }))
            .map(axum::body::Bytes::from)
            .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
    };
    match state.pages.get("jobs", key, render).await {
        Ok(page) => page.respond(&headers, "application/json"),
        Err(resp) => resp,
    }
}

/// One job as `GET /api/v1/jobs` shows it (the dashboard reads the same).
#[derive(Serialize)]
pub struct JobView {
    /// Job name.
    pub name: String,
    /// `playbook`, `command` or `stack`.
    pub kind: &'static str,
    /// Cron expression, when scheduled.
    pub schedule: Option<String>,
    /// The schedule in words.
    pub schedule_text: Option<String>,
    /// IANA zone of the schedule.
    pub timezone: Option<&'static str>,
    /// Next fire time in the job's zone (`next_run_at`, RFC 3339).
    #[serde(rename = "next_run_at", serialize_with = "rfc3339")]
    pub next: Option<DateTime<Tz>>,
    /// Concurrency policy.
    pub concurrency: Concurrency,
    /// Missed-run policy.
    pub missed: Missed,
    /// Time limit of one attempt.
    pub timeout_seconds: u64,
    /// Newest run (also one still running).
    pub last_run: Option<Run>,
    /// Failed runs since the last success.
    pub consecutive_failures: u32,
    /// Share of successes among `recent`.
    pub success_rate: Option<f64>,
    /// The last finished runs, oldest first (only `GET /api/v1/jobs/{name}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent: Option<Vec<Outcome>>,
    /// Jobs this one runs after (`after`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Its shared lock (`lock`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<String>,
    /// Next fire times (only `GET /api/v1/jobs/{name}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upcoming: Option<Vec<String>>,
}

impl JobView {
    /// The view of `job` with what the store remembers of it.
    pub fn new(job: &Job, last_run: Option<&Run>, state: &JobState, now: DateTime<Utc>) -> Self {
        let schedule = job.schedule.as_ref();
        let next = schedule.and_then(|s| s.next_after(now));
        JobView {
            name: job.name.clone(),
            kind: job.kind.word(),
            schedule: schedule.map(|s| s.expr().to_owned()),
            schedule_text: schedule.map(|s| {
                // A one-off run that fired is done: it never runs again.
                let done = s
                    .once_at()
                    .is_some_and(|at| state.last_fire.is_some_and(|l| l >= at));
                let words = s.describe();
                if done {
                    format!("{words} (done)")
                } else {
                    words.to_owned()
                }
            }),
            timezone: schedule.map(|s| s.timezone().name()),
            next,
            concurrency: job.concurrency,
            missed: job.missed,
            timeout_seconds: job.timeout.as_secs(),
            last_run: last_run.cloned(),
            consecutive_failures: state.consecutive_failures,
            success_rate: state.success_rate(),
            recent: None,
            after: job.after.clone(),
            lock: job.lock.clone(),
            upcoming: None,
        }
    }
}

/// Writes an instant as `to_rfc3339` does (what the API always showed).
fn rfc3339<S: serde::Serializer>(t: &Option<DateTime<Tz>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339()),
        None => s.serialize_none(),
    }
}

/// The rows of `GET /api/v1/jobs` (also what the dashboard shows).
pub async fn rows(state: &AppState) -> Result<Vec<JobView>, Response> {
    let Some(applied) = state.applied.borrow().clone() else {
        return Ok(Vec::new());
    };
    let reader = state.store.clone();
    let names = applied.desired.job_names();
    let seen = blocking(move || reader.overview(&names)).await?;
    let now = Utc::now();
    Ok(applied
        .desired
        .jobs
        .iter()
        .zip(seen.iter())
        .map(|(job, (last_run, state))| JobView::new(job, last_run.as_ref(), state, now))
        .collect())
}

/// Query of `GET /api/v1/runs`.
#[derive(Deserialize)]
pub struct RunQuery {
    job: Option<String>,
    status: Option<RunStatus>,
    limit: Option<usize>,
    before: Option<u64>,
}

/// `GET /api/v1/runs?job=&status=&limit=&before=`, newest first.
pub async fn runs(State(state): State<AppState>, Query(q): Query<RunQuery>) -> Response {
    let limit = q.limit.unwrap_or(50).clamp(1, 1000);
    let reader = state.store.clone();
    match blocking(move || reader.runs(q.job.as_deref(), q.status, limit, q.before)).await {
        Ok(runs) => {
            let next = (runs.len() == limit)
                .then(|| runs.last().map(|r| r.id))
                .flatten();
            Json(json!({"runs": runs, "next_before": next})).into_response()
        }
        Err(resp) => resp,
    }
}

/// `GET /api/v1/runs/{id}`.
pub async fn run(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    let reader = state.store.clone();
    match blocking(move || reader.run(id)).await {
        Ok(Some(run)) => Json(run).into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no run {id}")),
        Err(resp) => resp,
    }
}

/// `GET /api/v1/runs/{id}/log` as text (redacted when captured).
pub async fn log(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    let reader = state.store.clone();
    match blocking(move || Ok((reader.run(id)?, reader.log(id)?))).await {
        Ok((Some(_), bytes)) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
        }
        Ok((None, _)) => error(StatusCode::NOT_FOUND, &format!("no run {id}")),
        Err(resp) => resp,
    }
}

/// `POST /api/v1/jobs/{name}/run`: needs `Authorization: Bearer <token>`;
/// 404 when tend runs without an API token.
pub async fn trigger(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (Some(token), Some(trigger)) = (&state.api_token, &state.trigger) else {
        return error(
            StatusCode::NOT_FOUND,
            "manual runs are off: start tend with --api-token-file",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !super::webhook::constant_eq(given.trim().as_bytes(), token) {
        return error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    }
    match trigger(name.clone()).await {
        Ok(Ok(id)) => (StatusCode::ACCEPTED, Json(json!({"run": id}))).into_response(),
        Ok(Err(why)) if why.starts_with("no job") => error(StatusCode::NOT_FOUND, &why),
        Ok(Err(why)) => error(StatusCode::CONFLICT, &why),
        Err(_) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the scheduler is not running",
        ),
    }
}

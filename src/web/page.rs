//! The read-only dashboard (`GET /`): source, stacks, jobs and recent
//! events, server-rendered with askama (every value escaped), complete
//! without JavaScript, refreshed by the browser every 30 s, styled by
//! `/assets/tend.css` (served by tend; works offline; dark mode follows the
//! system).

use super::fmt::{ago, short, span, stamp, took};
use super::{AppState, blocking};
use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

/// The stylesheet, compiled in.
const CSS: &str = include_str!("../../assets/tend.css");
/// The page script (countdowns, live refresh), compiled in.
const JS: &str = include_str!("../../assets/tend.js");

/// One row of the jobs table.
struct JobRow {
    name: String,
    kind: String,
    schedule: String,
    next: String,
    next_at: String,
    next_local: String,
    rate: String,
    last: String,
    last_class: String,
    last_id: String,
    duration: String,
}

/// One row of the stacks table.
struct StackRow {
    name: String,
    host: String,
    desired: String,
    sync: String,
    services: String,
    error: String,
}

/// One event line.
struct EventRow {
    at: String,
    kind: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    health: super::health::Health,
    source: String,
    branch: String,
    applied: String,
    applied_summary: String,
    fetched: String,
    last_fetch: String,
    fetch_error: String,
    errors: Vec<String>,
    stacks: Vec<StackRow>,
    jobs: Vec<JobRow>,
    events: Vec<EventRow>,
}

/// `GET /assets/tend.css`.
pub async fn css() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// `GET /assets/tend.js`.
pub async fn js() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// A compiled-in asset, cached by the browser for an hour.
fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// `GET /`: the dashboard (kept for a moment, see [`super::cache`]).
pub async fn dashboard(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let key = state.page_key();
    let render = async || build(&state).await.map(Bytes::from);
    match state.pages.get("dashboard", key, render).await {
        Ok(page) => page.respond(&headers, "text/html; charset=utf-8"),
        Err(resp) => resp,
    }
}

async fn build(state: &AppState) -> Result<String, Response> {
    let now = Utc::now();
    let status = state.status.borrow().clone();
    let jobs = super::jobs::rows(state).await?;
    let reader = state.store.clone();
    let events = blocking(move || reader.events(20, None)).await?;
    let health = super::health::from_rows(state, &jobs);
    let page = Dashboard {
        health,
        source: status.source.url.clone(),
        branch: status
            .source
            .branch
            .clone()
            .unwrap_or_else(|| "default".into()),
        applied: short(status.source.applied_commit.as_deref()),
        applied_summary: status.source.applied_summary.clone().unwrap_or_default(),
        fetched: short(status.source.fetched_commit.as_deref()),
        last_fetch: status
            .source
            .last_fetch_at
            .map_or("never".into(), |t| ago(t, now)),
        fetch_error: status.source.last_fetch_error.clone().unwrap_or_default(),
        errors: status
            .config_errors
            .iter()
            .map(|d| format!("{}:{}:{}: {}", d.file, d.line, d.column, d.message))
            .collect(),
        stacks: state.stacks.borrow().iter().map(stack_row).collect(),
        jobs: jobs.iter().map(|j| job_row(j, now)).collect(),
        events: events
            .into_iter()
            .map(|e| EventRow {
                at: stamp(Some(e.at)),
                kind: crate::model::word(&e.kind),
                reason: e.reason,
            })
            .collect(),
    };
    page.render()
        .map_err(|e| super::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))
}

fn stack_row(s: &crate::plan::view::StackStatus) -> StackRow {
    let services = s
        .services
        .iter()
        .map(|v| {
            let health = crate::model::word(&v.health);
            match health.as_str() {
                "none" => format!("{} {}", v.name, v.state),
                _ => format!("{} {} ({health})", v.name, v.state),
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    StackRow {
        name: s.name.clone(),
        host: s.host.clone(),
        desired: s.desired_state.clone(),
        sync: crate::model::word(&s.sync),
        services,
        error: s.error.clone().unwrap_or_default(),
    }
}

fn job_row(j: &super::jobs::JobView, now: DateTime<Utc>) -> JobRow {
    let last = j.last_run.as_ref();
    let status = last.map_or(String::new(), |r| crate::model::word(&r.status));
    JobRow {
        name: j.name.clone(),
        kind: j.kind.to_owned(),
        schedule: j
            .schedule_text
            .as_deref()
            .map_or("only when triggered".into(), |s| {
                s.trim_end_matches('.').to_owned()
            }),
        next: j
            .next
            .map_or(String::new(), |t| format!("in {}", span(t.to_utc() - now))),
        next_at: j.next.map_or(String::new(), |t| t.to_rfc3339()),
        next_local: j.next.map_or(String::new(), |t| {
            format!("{} {}", t.format("%a %H:%M:%S"), t.timezone().name())
        }),
        rate: super::fmt::rate(j.success_rate),
        last_class: if status.is_empty() {
            "none".into()
        } else {
            status.clone()
        },
        last: if status.is_empty() {
            "never run".into()
        } else {
            status
        },
        last_id: last.map_or(String::new(), |r| r.id.to_string()),
        duration: last.map_or(String::new(), |r| took(r.started_at, r.finished_at)),
    }
}

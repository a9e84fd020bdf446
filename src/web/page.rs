//! The read-only dashboard (`GET /`): source, stacks, jobs and recent
//! events, server-rendered with askama (every value escaped), complete
//! without JavaScript, refreshed by the browser every 30 s, styled by
//! `/assets/tend.css` (served by tend; works offline; dark mode follows the
//! system).

use super::{AppState, blocking};
use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

/// The stylesheet, compiled in.
const CSS: &str = include_str!("../../assets/tend.css");

/// One row of the jobs table.
struct JobRow {
    name: String,
    kind: String,
    schedule: String,
    next: String,
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
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

/// `GET /`: the dashboard.
pub async fn dashboard(State(state): State<AppState>) -> Response {
    let now = Utc::now();
    let status = state.status.borrow().clone();
    let jobs = match super::jobs::rows(&state).await {
        Ok(j) => j,
        Err(resp) => return resp,
    };
    let reader = state.store.clone();
    let events = match blocking(move || reader.events(20, None)).await {
        Ok(e) => e,
        Err(resp) => return resp,
    };
    let short = |c: &Option<String>| {
        c.as_deref()
            .map_or("—".to_owned(), |c| c[..c.len().min(7)].to_owned())
    };
    let page = Dashboard {
        source: status.source.url.clone(),
        branch: status
            .source
            .branch
            .clone()
            .unwrap_or_else(|| "default".into()),
        applied: short(&status.source.applied_commit),
        applied_summary: status.source.applied_summary.clone().unwrap_or_default(),
        fetched: short(&status.source.fetched_commit),
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
                at: e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                kind: crate::model::word(&e.kind),
                reason: e.reason,
            })
            .collect(),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => super::error(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
    }
}

/// A string field of a JSON row.
fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
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

fn job_row(j: &serde_json::Value, now: DateTime<Utc>) -> JobRow {
    let last = &j["last_run"];
    let when = |k: &str| {
        last[k]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
    };
    let duration = match (when("started_at"), when("finished_at")) {
        (Some(a), Some(b)) => format!("{:.1} s", (b - a).num_milliseconds() as f64 / 1000.0),
        _ => String::new(),
    };
    let status = text(&last["status"]);
    JobRow {
        name: text(&j["name"]),
        kind: text(&j["kind"]),
        schedule: j["schedule_text"]
            .as_str()
            .map_or("only when triggered".into(), |s| {
                s.trim_end_matches('.').to_owned()
            }),
        next: j["next_run_at"]
            .as_str()
            .and_then(|t| t.parse::<DateTime<Utc>>().ok())
            .map_or(String::new(), |t| format!("in {}", span(t - now))),
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
        last_id: last["id"]
            .as_u64()
            .map_or(String::new(), |id| id.to_string()),
        duration,
    }
}

/// "3 min ago".
fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", span(now - t))
}

fn span(d: chrono::TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

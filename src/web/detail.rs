//! Detail pages: one run (`/runs/{id}`: status, trigger, commit, recap,
//! the log with ANSI colour codes stripped and every character escaped)
//! one stack (`/stacks/{name}`: services and the last plan with the
//! reason of each change), and the audit log (`/events`, by kind).

use super::{AppState, blocking, error};
use crate::model::word;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    id: u64,
    job: String,
    status: String,
    trigger: String,
    commit: String,
    started: String,
    finished: String,
    reason: String,
    recap: Vec<String>,
    log: String,
}

#[derive(Template)]
#[template(path = "stack.html")]
struct StackPage {
    stack: crate::plan::view::StackStatus,
    sync: String,
    changes: Vec<(String, String, String)>,
    plan_at: String,
    errors: Vec<String>,
}

fn html(page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(text) => Html(text).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// `GET /runs/{id}`.
pub async fn run(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    let reader = state.store.clone();
    let (run, log) = match blocking(move || Ok((reader.run(id)?, reader.log(id)?))).await {
        Ok((Some(run), log)) => (run, log),
        Ok((None, _)) => return error(StatusCode::NOT_FOUND, &format!("no run {id}")),
        Err(resp) => return resp,
    };
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or(String::new(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
    };
    let page = RunPage {
        id,
        job: run.job.clone(),
        status: word(&run.status),
        trigger: word(&run.trigger),
        commit: run
            .commit
            .as_deref()
            .map_or(String::new(), |c| c[..c.len().min(7)].to_owned()),
        started: time(run.started_at),
        finished: time(run.finished_at),
        reason: run.reason.clone().unwrap_or_default(),
        recap: run
            .recap
            .iter()
            .map(|h| serde_json::to_string(h).unwrap_or_default())
            .collect(),
        log: strip_ansi(&String::from_utf8_lossy(&log)),
    };
    html(page.render())
}

/// `GET /stacks/{name}`.
pub async fn stack(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let found = state
        .stacks
        .borrow()
        .iter()
        .find(|s| s.name == name)
        .cloned();
    let Some(stack) = found else {
        return error(StatusCode::NOT_FOUND, &format!("no stack {name}"));
    };
    let last = stack.last_plan.clone();
    let text = |c: &serde_json::Value, k: &str| c[k].as_str().unwrap_or_default().to_owned();
    let page = StackPage {
        sync: word(&stack.sync),
        changes: last
            .as_ref()
            .map(|l| {
                l.changes
                    .iter()
                    .map(|c| (text(c, "action"), text(c, "target"), text(c, "reason")))
                    .collect()
            })
            .unwrap_or_default(),
        plan_at: last.as_ref().map_or(String::new(), |l| {
            l.at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        }),
        errors: last.map(|l| l.errors).unwrap_or_default(),
        stack,
    };
    html(page.render())
}

/// Removes ANSI escape sequences (`ESC [ … letter`).
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for n in chars.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Audit kinds offered as filters on the events page.
const KINDS: [&str; 15] = [
    "commit-applied",
    "config-error",
    "fetch-failed",
    "fetch-recovered",
    "history-rewritten",
    "recloned",
    "stack-applied",
    "apply-failed",
    "drift",
    "degraded",
    "stack-recovered",
    "host-unreachable",
    "host-recovered",
    "started",
    "stopped",
];

#[derive(Template)]
#[template(path = "events.html")]
struct EventsPage {
    kind: String,
    kinds: Vec<&'static str>,
    events: Vec<(String, String, String)>,
    next: String,
}

/// `GET /events?kind=&before=`: the audit log, filterable by kind.
pub async fn events(
    State(state): State<AppState>,
    axum::extract::Query(page): axum::extract::Query<super::Page>,
) -> Response {
    let (events, next) = match super::event_page(&state, &page).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let page = EventsPage {
        kind: page.kind.map(|k| word(&k)).unwrap_or_default(),
        kinds: KINDS.to_vec(),
        events: events
            .into_iter()
            .map(|e| {
                (
                    e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                    word(&e.kind),
                    e.reason,
                )
            })
            .collect(),
        next: next.map_or(String::new(), |n| n.to_string()),
    };
    html(page.render())
}

//! Detail pages: one run (`/runs/{id}`: status, trigger, commit, recap,
//! the log with ANSI colour codes stripped and every character escaped)
//! one stack (`/stacks/{name}`: services and the last plan with the
//! reason of each change), and the audit log (`/events`, by kind, with the
//! newest notifications).

use super::fmt::{html, short, stamp, took};
use super::{AppState, blocking, error};
use crate::model::word;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    health: super::health::Health,
    id: u64,
    job: String,
    status: String,
    trigger: String,
    commit: String,
    started: String,
    finished: String,
    took: String,
    reason: String,
    recap: Vec<crate::model::HostRecap>,
    log: String,
}

#[derive(Template)]
#[template(path = "stack.html")]
struct StackPage {
    health: super::health::Health,
    stack: crate::plan::view::StackStatus,
    sync: String,
    services: Vec<(String, String, String, String, String)>,
    changes: Vec<(String, String, String)>,
    plan_at: String,
    errors: Vec<String>,
}

/// `GET /runs/{id}`.
pub async fn run(State(state): State<AppState>, Path(id): Path<u64>) -> Response {
    let reader = state.store.clone();
    let (run, log) = match blocking(move || Ok((reader.run(id)?, reader.log(id)?))).await {
        Ok((Some(run), log)) => (run, log),
        Ok((None, _)) => return error(StatusCode::NOT_FOUND, &format!("no run {id}")),
        Err(resp) => return resp,
    };
    let health = match super::health::of(&state).await {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let page = RunPage {
        health,
        id,
        job: run.job.clone(),
        status: word(&run.status),
        trigger: word(&run.trigger),
        commit: short(run.commit.as_deref()),
        started: stamp(run.started_at),
        finished: stamp(run.finished_at),
        took: took(run.started_at, run.finished_at),
        reason: run.reason.clone().unwrap_or_default(),
        recap: run.recap.clone(),
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
    let health = match super::health::of(&state).await {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let page = StackPage {
        health,
        sync: word(&stack.sync),
        services: stack
            .services
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    s.container.clone().unwrap_or_default(),
                    s.state.clone(),
                    word(&s.health),
                    s.image.clone(),
                )
            })
            .collect(),
        changes: last
            .as_ref()
            .map(|l| {
                l.changes
                    .iter()
                    .map(|c| (word(&c.action), c.target.clone(), c.reason.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        plan_at: stamp(last.as_ref().map(|l| l.at)),
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
    health: super::health::Health,
    kind: String,
    before: String,
    kinds: Vec<&'static str>,
    events: Vec<(String, String, String)>,
    next: String,
    notices: Vec<super::notices::Row>,
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
    let health = match super::health::of(&state).await {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let page = EventsPage {
        health,
        kind: page.kind.map(|k| word(&k)).unwrap_or_default(),
        before: page.before.map_or(String::new(), |b| b.to_string()),
        kinds: KINDS.to_vec(),
        events: events
            .into_iter()
            .map(|e| (stamp(Some(e.at)), word(&e.kind), e.reason))
            .collect(),
        next: next.map_or(String::new(), |n| n.to_string()),
        notices: match page.before {
            None => super::notices::rows(&state, 10).await,
            Some(_) => Vec::new(),
        },
    };
    html(page.render())
}

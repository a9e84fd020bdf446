//! Health at a glance: one line at the top of every page ("All 14 jobs and
//! 5 stacks healthy" / "2 failing: backup, stack media"), the page title
//! and the favicon follow it, and `GET /api/v1/health` serves it as JSON so
//! the page script can update all three on every live notice.
//!
//! The states, as the README defines them: a job is *failing* when its
//! newest run failed or timed out, or was a missed fire time (a `skipped`
//! catch-up); a stack when it is degraded, out of sync, or its host could
//! not be observed; the source when no fetch succeeded for three poll
//! intervals (*stale*). Before the first commit applies nothing is healthy.

use super::AppState;
use crate::model::{RunStatus, Sync, Trigger};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Json, Response};
use chrono::Utc;
use serde::Serialize;

/// The favicon of a healthy page: a green disc with a tick.
const ICON_OK: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="8" fill="#2e7d32"/><path d="M4 8.5l2.5 2.5L12 5.5" stroke="#fff" stroke-width="2" fill="none"/></svg>"##;
/// The favicon of a page with something failing: a red square with a cross.
const ICON_BAD: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#c62828"/><path d="M4.5 4.5l7 7M11.5 4.5l-7 7" stroke="#fff" stroke-width="2"/></svg>"##;

/// What is well and what is not.
#[derive(Debug, Clone, Serialize)]
pub struct Health {
    /// A commit is in force, nothing is failing and the source is fresh.
    pub ok: bool,
    /// The summary line.
    pub line: String,
    /// `ok` or `bad` (the CSS class and the favicon's name).
    pub word: &'static str,
    /// The failing jobs, then `stack NAME` for each failing stack.
    pub failing: Vec<String>,
    /// Jobs in the commit in force.
    pub jobs: usize,
    /// Stacks tend manages.
    pub stacks: usize,
    /// No successful fetch in three poll intervals.
    pub stale: bool,
}

fn plural(n: usize, one: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {one}s"),
    }
}

/// Works out the health of everything `state` shows.
pub async fn of(state: &AppState) -> Result<Health, Response> {
    Ok(from_rows(state, &super::jobs::rows(state).await?))
}

/// [`of`] from job rows already read (the dashboard reads them anyway).
pub fn from_rows(state: &AppState, jobs: &[super::jobs::JobView]) -> Health {
    let mut failing: Vec<String> = jobs
        .iter()
        .filter(|j| {
            j.last_run.as_ref().is_some_and(|r| match r.status {
                RunStatus::Failed | RunStatus::TimedOut => true,
                RunStatus::Skipped => r.trigger == Trigger::CatchUp,
                _ => false,
            })
        })
        .map(|j| j.name.clone())
        .collect();
    let stacks = state.stacks.borrow().clone();
    failing.extend(
        stacks
            .iter()
            .filter(|s| s.desired_state != "unmanaged" && s.sync != Sync::Synced)
            .map(|s| format!("stack {}", s.name)),
    );
    let (last_success, applied) = {
        let status = state.status.borrow();
        (
            status.source.last_success_at,
            status.source.applied_commit.is_some(),
        )
    };
    let stale = state.poll_interval.is_some_and(|every| {
        let limit = chrono::Duration::from_std(every * 3).unwrap_or(chrono::Duration::MAX);
        last_success.is_none_or(|t| Utc::now() - t > limit)
    });
    let managed = stacks
        .iter()
        .filter(|s| s.desired_state != "unmanaged")
        .count();
    let mut line = match failing.len() {
        0 if !applied => "No commit applied yet".to_owned(),
        0 => format!(
            "All {} and {} healthy",
            plural(jobs.len(), "job"),
            plural(managed, "stack")
        ),
        n => format!("{n} failing: {}", failing.join(", ")),
    };
    if stale {
        line.push_str(" · source stale: no successful fetch in three poll intervals");
    }
    let ok = failing.is_empty() && !stale && applied;
    Health {
        ok,
        line,
        word: if ok { "ok" } else { "bad" },
        failing,
        jobs: jobs.len(),
        stacks: managed,
        stale,
    }
}

/// `GET /api/v1/health`.
pub async fn api(State(state): State<AppState>) -> Response {
    match of(&state).await {
        Ok(h) => Json(h).into_response(),
        Err(resp) => resp,
    }
}

/// `GET /favicon-ok.svg` and `/favicon-bad.svg`.
pub async fn icon_ok() -> Response {
    icon(ICON_OK)
}

/// `GET /favicon-bad.svg`.
pub async fn icon_bad() -> Response {
    icon(ICON_BAD)
}

fn icon(svg: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        svg,
    )
        .into_response()
}

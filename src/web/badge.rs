//! Badges for READMEs and other dashboards: `GET /badge/jobs/{name}.svg`
//! (the job's newest run: `passing`, `failing`, `timed out`, `running`, …)
//! and `GET /badge/stacks/{name}.svg` (the stack's sync state), flat
//! shields-style SVGs with a `Cache-Control` of a few seconds; an unknown
//! name is a 404. Like every read they pass the view token when one is set.

use super::{AppState, blocking};
use crate::model::{RunStatus, Sync};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// How long a badge may be cached.
const CACHE: &str = "max-age=5, must-revalidate";
/// Colours of shields.io's flat style.
const GREEN: &str = "#4c1";
const RED: &str = "#e05d44";
const BLUE: &str = "#007ec6";
const YELLOW: &str = "#dfb317";
const GREY: &str = "#9f9f9f";

/// `GET /badge/jobs/{name}.svg`.
pub async fn job(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".svg").map(str::to_owned) else {
        return not_found();
    };
    let declared = state
        .applied
        .borrow()
        .as_ref()
        .is_some_and(|a| a.desired.jobs.iter().any(|j| j.name == name));
    let reader = state.store.clone();
    let key = name.clone();
    let newest = blocking(move || Ok(reader.runs(Some(&key), None, 1, None)?.pop())).await;
    let newest = match newest {
        Ok(run) => run,
        Err(resp) => return resp,
    };
    if !declared && newest.is_none() {
        return not_found();
    }
    let (message, colour) = match newest.map(|r| r.status) {
        None => ("no runs", GREY),
        Some(RunStatus::Succeeded) => ("passing", GREEN),
        Some(RunStatus::Failed) => ("failing", RED),
        Some(RunStatus::TimedOut) => ("timed out", RED),
        Some(RunStatus::Running) => ("running", BLUE),
        Some(RunStatus::Waiting) => ("waiting", BLUE),
        Some(RunStatus::Interrupted) => ("interrupted", YELLOW),
        Some(RunStatus::Skipped) => ("skipped", YELLOW),
    };
    svg(&name, message, colour)
}

/// `GET /badge/stacks/{name}.svg`.
pub async fn stack(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(name) = file.strip_suffix(".svg") else {
        return not_found();
    };
    let sync = state
        .stacks
        .borrow()
        .iter()
        .find(|s| s.name == name)
        .map(|s| s.sync);
    let (message, colour) = match sync {
        None => return not_found(),
        Some(Sync::Synced) => ("synced", GREEN),
        Some(Sync::OutOfSync) => ("out of sync", YELLOW),
        Some(Sync::Degraded) => ("degraded", RED),
        Some(Sync::Unknown) => ("unknown", GREY),
    };
    svg(name, message, colour)
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "no such job or stack\n").into_response()
}

/// Width of `text` in Verdana 11 px, near enough for a badge (shields
/// measures the same font; digits and most letters are ~7 px).
fn width(text: &str) -> usize {
    let px: usize = text
        .chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ',' | ':' | '\'' | '|' => 4,
            'f' | 't' | 'r' | ' ' | '-' | '(' | ')' => 5,
            'm' | 'w' | 'M' | 'W' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum();
    px + 10
}

/// Escapes text for SVG.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The badge: `label` on grey, `message` on `colour`, with a title for
/// screen readers (the status is text, never colour alone).
fn svg(label: &str, message: &str, colour: &str) -> Response {
    let (l, m) = (width(label), width(message));
    let total = l + m;
    let (label, message) = (escape(label), escape(message));
    let body = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {message}"><title>{label}: {message}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{l}" height="20" fill="#555"/><rect x="{l}" width="{m}" height="20" fill="{colour}"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11"><text x="{lx}" y="14">{label}</text><text x="{mx}" y="14">{message}</text></g></svg>"##,
        lx = l / 2,
        mx = l + m / 2,
    );
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        body,
    )
        .into_response()
}

//! How the pages write times, spans, commits and rates, and how a rendered
//! template becomes a response — one place for all of them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};

/// `2026-11-22 14:03:07 UTC`, or empty.
pub fn stamp(t: Option<DateTime<Utc>>) -> String {
    t.map_or(String::new(), |t| {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    })
}

/// "42 s", "3 min", "2 h 5 min", "4 d 1 h".
pub fn span(d: TimeDelta) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86400, s % 86400 / 3600),
    }
}

/// "3 min ago".
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("{} ago", span(now - t))
}

/// The first 7 characters of a commit id, or "—".
pub fn short(commit: Option<&str>) -> String {
    commit.map_or("—".to_owned(), |c| {
        crate::model::short_commit(c).to_owned()
    })
}

/// "1.2 s" between two instants, or empty when either is missing.
pub fn took(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    match (start, end) {
        (Some(a), Some(b)) => seconds((b - a).num_milliseconds().max(0) as u64),
        _ => String::new(),
    }
}

/// "1.2 s" for a number of milliseconds.
pub fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// "93 %" for a share, or "—".
pub fn rate(share: Option<f64>) -> String {
    share.map_or("—".to_owned(), |r| format!("{:.0} %", r * 100.0))
}

/// A rendered page, or a 500 naming the template error.
pub fn html(page: Result<String, askama::Error>) -> Response {
    match page {
        Ok(text) => Html(text).into_response(),
        Err(e) => super::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

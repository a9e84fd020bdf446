//! The job page (`/jobs/{name}`): what the job runs and when, its next fire
//! times in its time zone (counting down in the browser), the success rate
//! and duration trend of its last 30 runs, and its history, paged newest
//! first. `GET /api/v1/jobs/{name}` is the same as JSON.

use super::fmt::{html, rate, seconds, stamp, took};
use super::{AppState, blocking, error};
use crate::model::{Job, JobState, Outcome, Run, word};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use chrono::Utc;
use serde::Deserialize;
use std::sync::Arc;

/// Runs per history page.
const PAGE: usize = 50;
/// Fire times listed.
const UPCOMING: usize = 5;
/// Size of the duration trend (SVG user units).
const TREND_W: u64 = 300;
const TREND_H: u64 = 60;

/// `?before=RUN` of the history.
#[derive(Deserialize)]
pub struct Older {
    before: Option<u64>,
}

/// One upcoming fire time.
struct Fire {
    at: String,
    local: String,
}

/// One bar of the duration trend.
struct Bar {
    run: u64,
    x: u64,
    y: u64,
    h: u64,
    status: String,
    title: String,
}

/// One row of the history.
struct HistoryRow {
    id: u64,
    trigger: String,
    status: String,
    started: String,
    took: String,
    exit: String,
    reason: String,
}

/// The job's schedule in words, with its `after` chain.
fn schedule_words(job: &Job) -> String {
    let words = job
        .schedule
        .as_ref()
        .map(|s| s.describe().trim_end_matches('.').to_owned());
    match (words, job.after.is_empty()) {
        (Some(w), true) => w,
        (None, true) => "only when triggered".into(),
        (Some(w), false) => format!("{w}, and runs after {}", job.after.join(", ")),
        (None, false) => format!("runs after {}", job.after.join(", ")),
    }
}

#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    health: super::health::Health,
    name: String,
    declared: bool,
    kind: String,
    schedule: String,
    timezone: String,
    file: String,
    lock: String,
    rate: String,
    counted: usize,
    streak: u32,
    fires: Vec<Fire>,
    bars: Vec<Bar>,
    runs: Vec<HistoryRow>,
    next: String,
}

/// What the store holds about one job: state, newest run and a history page.
struct Found {
    job: Option<Job>,
    state: JobState,
    last: Option<Run>,
    runs: Vec<Run>,
}

/// The job, its state and newest run, and with `history` the page of runs
/// older than `before` (the newest page when `None`).
async fn find(
    state: &AppState,
    name: String,
    history: bool,
    before: Option<u64>,
) -> Result<Found, Response> {
    let job = state
        .applied
        .borrow()
        .as_ref()
        .and_then(|a| a.desired.jobs.iter().find(|j| j.name == name).cloned());
    let reader = state.store.clone();
    let key = Arc::new(name);
    let found = blocking({
        let key = key.clone();
        move || {
            let state = reader.job_state(&key)?;
            let runs = match history {
                true => reader.runs(Some(&key), None, PAGE, before)?,
                false => Vec::new(),
            };
            // The newest page already starts with the newest run.
            let last = match (history, before) {
                (true, None) => runs.first().cloned(),
                _ => reader.runs(Some(&key), None, 1, None)?.pop(),
            };
            Ok(Found {
                job,
                state,
                last,
                runs,
            })
        }
    })
    .await?;
    if found.job.is_none() && found.last.is_none() {
        return Err(error(StatusCode::NOT_FOUND, &format!("no job {key}")));
    }
    Ok(found)
}

/// `GET /api/v1/jobs/{name}`: the job's row of `/api/v1/jobs` plus its next
/// fire times; 404 for a job neither declared nor in the history.
pub async fn detail(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    let found = match find(&state, name, false, None).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let Some(job) = found.job else {
        return error(
            StatusCode::NOT_FOUND,
            "this job is not in the commit in force (its runs stay in /api/v1/runs)",
        );
    };
    let mut view = super::jobs::JobView::new(&job, found.last.as_ref(), &found.state, Utc::now());
    view.upcoming = Some(upcoming(&job).into_iter().map(|f| f.at).collect());
    view.recent = Some(found.state.recent);
    Json(view).into_response()
}

/// `GET /jobs/{name}?before=`.
pub async fn page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(older): Query<Older>,
) -> Response {
    let found = match find(&state, name.clone(), true, older.before).await {
        Ok(f) => f,
        Err(resp) => return resp,
    };
    let job = found.job.as_ref();
    let next = (found.runs.len() == PAGE)
        .then(|| found.runs.last().map(|r| r.id.to_string()))
        .flatten()
        .unwrap_or_default();
    let health = match super::health::of(&state).await {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let page = JobPage {
        health,
        name,
        declared: job.is_some(),
        kind: job.map_or(String::new(), |j| j.kind.word().to_owned()),
        schedule: job.map_or("only when triggered".into(), schedule_words),
        timezone: job
            .and_then(|j| j.schedule.as_ref())
            .map_or(String::new(), |s| s.timezone().name().to_owned()),
        file: job.map_or(String::new(), |j| j.file.display().to_string()),
        lock: job.and_then(|j| j.lock.clone()).unwrap_or_default(),
        rate: rate(found.state.success_rate()),
        counted: found.state.recent.len(),
        streak: found.state.consecutive_failures,
        fires: job.map(upcoming).unwrap_or_default(),
        bars: trend(&found.state.recent),
        runs: found.runs.iter().map(history_row).collect(),
        next,
    };
    html(page.render())
}

fn upcoming(job: &Job) -> Vec<Fire> {
    let Some(schedule) = &job.schedule else {
        return Vec::new();
    };
    schedule
        .upcoming(Utc::now(), UPCOMING)
        .into_iter()
        .map(|t| Fire {
            at: t.to_rfc3339(),
            local: t.format("%a %Y-%m-%d %H:%M:%S %Z").to_string(),
        })
        .collect()
}

/// Bars scaled to the longest of the recent runs, oldest left.
fn trend(recent: &[Outcome]) -> Vec<Bar> {
    let longest = recent.iter().map(|o| o.ms).max().unwrap_or(0).max(1);
    let width = TREND_W / crate::model::RECENT_RUNS as u64;
    recent
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let h = (o.ms * (TREND_H - 2) / longest).max(2);
            Bar {
                run: o.run,
                x: i as u64 * width,
                y: TREND_H - h,
                h,
                status: word(&o.status),
                title: format!("run {}: {}, {}", o.run, word(&o.status), seconds(o.ms)),
            }
        })
        .collect()
}

fn history_row(run: &Run) -> HistoryRow {
    HistoryRow {
        id: run.id,
        trigger: word(&run.trigger),
        status: word(&run.status),
        started: stamp(run.started_at.or(run.scheduled_for)),
        took: took(run.started_at, run.finished_at),
        exit: run.exit_code.map_or(String::new(), |c| c.to_string()),
        reason: run.reason.clone().unwrap_or_default(),
    }
}

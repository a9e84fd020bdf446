//! The status page at scale: a generated repository of 200 jobs and 50
//! stacks (scripts/gen-repo.py), 100,000 runs in the store (500 per job,
//! the retention limit; the newest 30 of each finished through the store's
//! own path so success rates are real), 1,000 events. Then `GET /`,
//! `GET /api/v1/jobs` and a job page through the router (`oneshot`: the
//! server's own time, no socket), each timed 300 times.
//! `cargo bench --bench dashboard`; figures go to docs/BENCHMARKS.md. With
//! `TEND_BENCH_STORE=FILE` the filled store is written there and kept.

use axum::body::Body;
use axum::http::Request;
use chrono::Utc;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Instant;
use tend::model::{
    Applied, AuditKind, DesiredSummary, Run, RunStatus, SourceMode, SourceStatus, Status, Trigger,
};
use tend::plan::view::{ServiceStatus, StackStatus};
use tend::store::{Retention, Store};
use tend::web::{AppState, router};
use tower::ServiceExt;

const JOBS: usize = 200;
const STACKS: usize = 50;
const RUNS: usize = 100_000;

fn run(job: usize, i: usize, status: RunStatus) -> Run {
    let t = Utc::now() - chrono::Duration::seconds((RUNS - i) as i64 * 30);
    Run {
        id: 0,
        job: format!("job-{job:04}"),
        trigger: Trigger::Cron,
        scheduled_for: Some(t),
        started_at: Some(t),
        finished_at: Some(t + chrono::Duration::milliseconds(300 + (i % 900) as i64)),
        status,
        exit_code: Some(i32::from(status != RunStatus::Succeeded)),
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        attempt: 1,
        recap: Vec::new(),
        reason: None,
    }
}

fn fill(store: &Store, names: &[String]) {
    let per_job = RUNS / names.len();
    let status = |i: usize| {
        if i.is_multiple_of(11) {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        }
    };
    // Older runs in batches of 1,000, as the scheduler records a due instant.
    let old: Vec<(usize, usize)> = (0..per_job - 30)
        .flat_map(|k| (0..names.len()).map(move |j| (j, k)))
        .collect();
    for chunk in old.chunks(1000) {
        let batch = chunk
            .iter()
            .map(|&(j, k)| (run(j, k * names.len() + j, status(k + j)), None))
            .collect();
        store.start_runs(batch).expect("record runs");
    }
    // The newest 30 of each job start and finish like real runs.
    for k in per_job - 30..per_job {
        for j in 0..names.len() {
            let mut r = run(j, k * names.len() + j, RunStatus::Running);
            let started = store.start_run(r.clone(), None).expect("start").unwrap();
            r.id = started.id;
            r.status = status(k + j);
            store
                .finish_run(&r, Retention::default(), b"done\n", &[])
                .expect("finish");
        }
    }
    for i in 0..1000 {
        store
            .record(
                AuditKind::CommitApplied,
                Some("0123456"),
                format!("new commit {i}: bench"),
                serde_json::Value::Null,
                &[],
                &[],
            )
            .expect("event");
    }
}

fn stacks(desired: &tend::model::Desired) -> Vec<StackStatus> {
    desired
        .stacks
        .iter()
        .map(|s| StackStatus {
            name: s.name.clone(),
            host: s.host.clone(),
            desired_state: "running".into(),
            sync: tend::plan::Sync::Synced,
            error: None,
            services: s
                .services
                .iter()
                .map(|(name, svc)| ServiceStatus {
                    name: name.clone(),
                    container: Some(format!("{}-{name}-1", s.name)),
                    state: "running".into(),
                    health: tend::plan::Health::Healthy,
                    image: svc.image.clone(),
                })
                .collect(),
            last_plan: None,
            commit: "working-tree".into(),
        })
        .collect()
}

fn status() -> Status {
    let commit = Some("0123456789abcdef0123456789abcdef01234567".to_owned());
    Status {
        source: SourceStatus {
            url: "ssh://git@git.lan/homelab/config.git".into(),
            branch: Some("main".into()),
            mode: SourceMode::Git,
            uncommitted: false,
            fetched_commit: commit.clone(),
            applied_commit: commit,
            applied_summary: Some("Bump the app images".into()),
            applied_at: Some(Utc::now()),
            last_fetch_at: Some(Utc::now()),
            last_success_at: Some(Utc::now()),
            last_fetch_error: None,
        },
        config_errors: Vec::new(),
        desired: DesiredSummary {
            jobs: JOBS,
            stacks: STACKS,
        },
    }
}

/// Times `rounds` GETs of `path`; with `writer`, a run finishes before each
/// one and the kept page has settled (both outside the timing), so the page
/// is built afresh every time.
async fn time(
    app: &axum::Router,
    path: &str,
    rounds: usize,
    writer: Option<&Store>,
) -> (Vec<f64>, usize) {
    let mut times = Vec::with_capacity(rounds);
    let mut bytes = 0;
    for round in 0..rounds {
        if let Some(store) = writer {
            tokio::time::sleep(tend::web::cache::SETTLE).await;
            let mut r = run(round % JOBS, RUNS + round, RunStatus::Running);
            r.id = store.start_run(r.clone(), None).expect("start").unwrap().id;
            r.status = RunStatus::Succeeded;
            store
                .finish_run(&r, Retention::default(), b"", &[])
                .expect("finish");
        }
        let req = Request::get(path).body(Body::empty()).unwrap();
        let t = Instant::now();
        let resp = app.clone().oneshot(req).await.expect("answer");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = body.len();
    }
    times.sort_by(f64::total_cmp);
    (times, bytes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    let made = std::process::Command::new("python3")
        .args(["scripts/gen-repo.py", repo.to_str().unwrap()])
        .args([JOBS.to_string(), STACKS.to_string()])
        .status()
        .expect("python3");
    assert!(made.success(), "gen-repo.py failed");
    let desired = tend::config::load(&repo, Utc::now()).expect("a valid repository");
    assert_eq!((desired.jobs.len(), desired.stacks.len()), (JOBS, STACKS));
    // TEND_BENCH_STORE keeps the filled store for scripts/bench_web.py.
    let path = std::env::var_os("TEND_BENCH_STORE")
        .map_or_else(|| dir.path().join("tend.redb"), std::path::PathBuf::from);
    let store = Store::open(&path).expect("open store");
    let started = Instant::now();
    fill(&store, &desired.job_names());
    eprintln!("filled {RUNS} runs in {:.1?}", started.elapsed());
    let views = stacks(&desired);
    let applied = Applied {
        commit: "0123456789abcdef0123456789abcdef01234567".into(),
        dir: repo.clone(),
        desired: Arc::new(desired),
    };
    let state = AppState {
        status: tokio::sync::watch::channel(status()).1,
        store: store.reader(),
        webhook_secret: None,
        on_push: Arc::new(|| {}),
        poll_interval: None,
        applied: tokio::sync::watch::channel(Some(Arc::new(applied))).1,
        api_token: None,
        trigger: None,
        stacks: tokio::sync::watch::channel(views).1,
        metrics: Arc::default(),
        view_token: None,
        live: tend::live::Hub::default(),
        pages: Default::default(),
    };
    let app = router(state);
    for path in ["/", "/api/v1/jobs"] {
        time(&app, path, 5, Some(&store)).await;
        let (t, _) = time(&app, path, 100, Some(&store)).await;
        let pick = |q: f64| t[((t.len() - 1) as f64 * q) as usize];
        println!(
            "GET {path} built afresh (a run was written just before): median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
            pick(0.5),
            pick(0.9),
            pick(0.99),
        );
    }
    for path in [
        "/",
        "/api/v1/jobs",
        "/jobs/job-0007",
        "/assets/tend.css",
        "/assets/tend.js",
    ] {
        time(&app, path, 20, None).await; // warm-up
        let (t, bytes) = time(&app, path, 300, None).await;
        let pick = |q: f64| t[((t.len() - 1) as f64 * q) as usize];
        println!(
            "GET {path} (pages kept up to 1 s while nothing changes): median {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, {bytes} bytes ({JOBS} jobs, {STACKS} stacks, {RUNS} runs)",
            pick(0.5),
            pick(0.9),
            pick(0.99),
        );
    }
}

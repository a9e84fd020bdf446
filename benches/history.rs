//! Run history at scale: 100,000 runs over 100 jobs in a redb store, then
//! the newest 50 runs of one job (the page a user opens), timed.
//! `cargo bench --bench history`; figures go to docs/BENCHMARKS.md.

use chrono::Utc;
use std::time::Instant;
use tend::model::{Run, RunStatus, Trigger};
use tend::store::Store;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("bench.redb")).expect("open store");
    let total: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let started = Instant::now();
    // Fill through the store's own API, 1,000 finished runs per transaction.
    for chunk in 0..total.div_ceil(1000) {
        let batch = (chunk * 1000..((chunk + 1) * 1000).min(total))
            .map(|i| {
                let run = Run {
                    id: 0,
                    job: format!("job-{:03}", i % 100),
                    trigger: Trigger::Cron,
                    scheduled_for: Some(Utc::now()),
                    started_at: Some(Utc::now()),
                    finished_at: Some(Utc::now()),
                    status: if i % 7 == 0 {
                        RunStatus::Failed
                    } else {
                        RunStatus::Succeeded
                    },
                    exit_code: Some(0),
                    commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
                    attempt: 1,
                    recap: Vec::new(),
                    reason: None,
                };
                (run, None)
            })
            .collect();
        store.start_runs(batch).expect("record runs");
    }
    eprintln!("filled {total} runs in {:?}", started.elapsed());
    let reader = store.reader();
    let mut times = Vec::new();
    for round in 0..200 {
        let job = format!("job-{:03}", round % 100);
        let t = Instant::now();
        let page = reader.runs(Some(&job), None, 50, None).expect("list");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(page.len(), 50);
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "newest 50 runs of one job among {total}: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms ({} lookups)",
        pick(0.5),
        pick(0.99),
        times[times.len() - 1],
        times.len()
    );
    let t = Instant::now();
    let failed = reader
        .runs(None, Some(RunStatus::Failed), 50, None)
        .expect("list");
    println!(
        "newest 50 failed runs across all jobs: {:.3} ms",
        t.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(failed.len(), 50);
}

//! Prometheus metrics (`GET /metrics`): counters and histograms updated as
//! things happen (runs, fetches, reconciles), gauges filled from the
//! current status when scraped. No I/O here; the web layer serves the text.

use crate::model::{RunStatus, Status};

use crate::plan::view::StackStatus;
use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

type Labels = Vec<(String, String)>;
type Seconds = Gauge<f64, AtomicU64>;

fn duration_buckets() -> Histogram {
    // 10 ms … ~5.8 h
    Histogram::new(exponential_buckets(0.01, 3.0, 13))
}

/// tend's metrics.
pub struct Metrics {
    registry: Registry,
    runs: Family<Labels, Counter>,
    durations: Family<Labels, Histogram, fn() -> Histogram>,
    last_success: Family<Labels, Seconds>,
    last_fetch: Seconds,
    fetch_errors: Counter,
    config_valid: Gauge,
    stack_sync: Family<Labels, Gauge>,
    reconcile: Histogram,
    notifications: Family<Labels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// All metrics registered, at zero.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let m = Metrics {
            runs: Family::default(),
            durations: Family::new_with_constructor(duration_buckets),
            last_success: Family::default(),
            last_fetch: Seconds::default(),
            fetch_errors: Counter::default(),
            config_valid: Gauge::default(),
            stack_sync: Family::default(),
            reconcile: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            notifications: Family::default(),
            registry: Registry::default(),
        };
        registry.register("tend_job_runs", "Job runs by final status", m.runs.clone());
        registry.register(
            "tend_job_duration_seconds",
            "Duration of finished job runs",
            m.durations.clone(),
        );
        registry.register(
            "tend_job_last_success_timestamp_seconds",
            "When each job last succeeded (since this tend started)",
            m.last_success.clone(),
        );
        registry.register(
            "tend_source_last_fetch_timestamp_seconds",
            "When the config source was last fetched successfully",
            m.last_fetch.clone(),
        );
        registry.register(
            "tend_source_fetch_errors",
            "Failed fetches of the config source",
            m.fetch_errors.clone(),
        );
        registry.register(
            "tend_config_valid",
            "1 when the newest commit is valid, 0 when it was rejected",
            m.config_valid.clone(),
        );
        registry.register(
            "tend_stack_sync",
            "1 for each stack's current sync status",
            m.stack_sync.clone(),
        );
        registry.register(
            "tend_reconcile_duration_seconds",
            "Duration of stack reconcile passes",
            m.reconcile.clone(),
        );
        registry.register(
            "tend_notifications",
            "Notifications by channel and outcome",
            m.notifications.clone(),
        );
        Metrics { registry, ..m }
    }

    /// A job run ended.
    pub fn run_finished(
        &self,
        job: &str,
        status: RunStatus,
        seconds: Option<f64>,
        at: DateTime<Utc>,
    ) {
        let word = crate::model::word(&status);
        self.runs
            .get_or_create(&vec![("job".into(), job.into()), ("status".into(), word)])
            .inc();
        let job_label = vec![("job".to_owned(), job.to_owned())];
        if let Some(s) = seconds {
            self.durations.get_or_create(&job_label).observe(s);
        }
        if status == RunStatus::Succeeded {
            self.last_success
                .get_or_create(&job_label)
                .set(at.timestamp_millis() as f64 / 1000.0);
        }
    }

    /// A notification attempt ended: `outcome` is `sent`, `retry` or `failed`.
    pub fn notification(&self, channel: &str, outcome: &str) {
        self.notifications
            .get_or_create(&vec![
                ("channel".into(), channel.into()),
                ("outcome".into(), outcome.into()),
            ])
            .inc();
    }

    /// A fetch of the config source failed.
    pub fn fetch_failed(&self) {
        self.fetch_errors.inc();
    }

    /// A stacks pass took `seconds`.
    pub fn reconciled(&self, seconds: f64) {
        self.reconcile.observe(seconds);
    }

    /// The text exposition, with gauges taken from `status` and `stacks`.
    pub fn render(&self, status: &Status, stacks: &[StackStatus]) -> String {
        if let Some(at) = status.source.last_success_at {
            self.last_fetch.set(at.timestamp_millis() as f64 / 1000.0);
        }
        self.render_with(status.config_errors.is_empty(), stacks)
    }

    fn render_with(&self, config_valid: bool, stacks: &[StackStatus]) -> String {
        self.config_valid.set(i64::from(config_valid));
        self.stack_sync.clear();
        for s in stacks {
            for word in ["synced", "out-of-sync", "degraded", "unknown"] {
                let now = crate::model::word(&s.sync) == word;
                let labels = vec![
                    ("stack".to_owned(), s.name.clone()),
                    ("status".to_owned(), word.to_owned()),
                ];
                self.stack_sync.get_or_create(&labels).set(i64::from(now));
            }
        }
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_and_stacks_are_exposed() {
        let m = Metrics::new();
        m.run_finished("backup", RunStatus::Failed, Some(1.5), Utc::now());
        m.run_finished("backup", RunStatus::Succeeded, Some(0.2), Utc::now());
        m.fetch_failed();
        let text = m.render_with(true, &[]);
        assert!(
            text.contains("tend_job_runs_total{job=\"backup\",status=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("tend_job_duration_seconds_count{job=\"backup\"} 2"),
            "{text}"
        );
        assert!(text.contains("tend_source_fetch_errors_total 1"), "{text}");
        assert!(text.contains("tend_config_valid 1"), "{text}");
        assert!(
            text.contains("tend_job_last_success_timestamp_seconds{job=\"backup\"}"),
            "{text}"
        );
    }
}

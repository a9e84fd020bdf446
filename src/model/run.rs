//! Job runs as data: a failed playbook is a [`Run`] with status `failed`,
//! exit code, duration and log — not an error of the daemon.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// Its schedule fired.
    Cron,
    /// A fire time missed while tend was down, caught up per `missed`.
    CatchUp,
    /// A retry after a failed attempt.
    Retry,
    /// `tend trigger` / `POST /api/v1/jobs/{name}/run`.
    Manual,
    /// Every job of its `after` succeeded since its last run.
    After,
}

/// Where a run stands or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Recorded, waiting for its `lock` (the reason names who holds it).
    Waiting,
    /// Exit code 0.
    Succeeded,
    /// Non-zero exit, or it could not start.
    Failed,
    /// Killed at its timeout.
    TimedOut,
    /// Stopped by shutdown, a crash of tend, or `concurrency: replace`.
    Interrupted,
    /// Not started (`concurrency: forbid` while another run was going).
    Skipped,
}

/// Ansible's per-host recap of a playbook run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRecap {
    /// Inventory host name.
    pub host: String,
    /// Tasks that were ok.
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// Tasks that failed.
    pub failed: u32,
    /// 1 when the host could not be reached.
    pub unreachable: u32,
    /// Tasks skipped.
    pub skipped: u32,
}

/// One run of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Unique, increasing.
    pub id: u64,
    /// Job name.
    pub job: String,
    /// What started it.
    pub trigger: Trigger,
    /// The schedule instant it stands for (cron and catch-up runs).
    pub scheduled_for: Option<DateTime<Utc>>,
    /// When the process started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: RunStatus,
    /// Process exit code, when it exited.
    pub exit_code: Option<i32>,
    /// Commit of the config it ran from.
    pub commit: Option<String>,
    /// 1 for the first attempt, 2 for the first retry, …
    pub attempt: u32,
    /// Per-host recap (playbook jobs).
    #[serde(default)]
    pub recap: Vec<HostRecap>,
    /// Why it was skipped or interrupted, or what went wrong starting it.
    pub reason: Option<String>,
}

/// What the scheduler remembers of a job between runs and restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobState {
    /// The newest schedule instant that fired (at most once per instant).
    pub last_fire: Option<DateTime<Utc>>,
    /// Failed runs since the last success.
    pub consecutive_failures: u32,
    /// The newest finished runs, oldest first, at most [`RECENT_RUNS`]
    /// (success rate and duration trend without reading the history).
    #[serde(default)]
    pub recent: Vec<Outcome>,
}

/// How many finished runs [`JobState::recent`] keeps.
pub const RECENT_RUNS: usize = 30;

/// How one finished run ended, kept in [`JobState::recent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Run id.
    pub run: u64,
    /// How it ended.
    pub status: RunStatus,
    /// Wall time in milliseconds (0 when it never started).
    pub ms: u64,
}

impl Run {
    /// How long it ran, in seconds, once it has started and finished.
    pub fn seconds(&self) -> Option<f64> {
        let (a, b) = self.started_at.zip(self.finished_at)?;
        Some((b - a).num_milliseconds() as f64 / 1000.0)
    }
}

impl JobState {
    /// Remembers how `run` ended (skipped runs did no work and are left out).
    pub fn remember(&mut self, run: &Run) {
        match run.status {
            RunStatus::Succeeded => self.consecutive_failures = 0,
            RunStatus::Failed | RunStatus::TimedOut => self.consecutive_failures += 1,
            RunStatus::Running
            | RunStatus::Waiting
            | RunStatus::Interrupted
            | RunStatus::Skipped => {}
        }
        if matches!(
            run.status,
            RunStatus::Running | RunStatus::Waiting | RunStatus::Skipped
        ) {
            return;
        }
        let ms = match (run.started_at, run.finished_at) {
            (Some(a), Some(b)) => (b - a).num_milliseconds().max(0) as u64,
            _ => 0,
        };
        self.recent.push(Outcome {
            run: run.id,
            status: run.status,
            ms,
        });
        let extra = self.recent.len().saturating_sub(RECENT_RUNS);
        self.recent.drain(..extra);
    }

    /// Share of succeeded runs among [`JobState::recent`], `None` before the first.
    pub fn success_rate(&self) -> Option<f64> {
        let ok = self
            .recent
            .iter()
            .filter(|o| o.status == RunStatus::Succeeded)
            .count();
        (!self.recent.is_empty()).then(|| ok as f64 / self.recent.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ended(id: u64, status: RunStatus, ms: i64) -> Run {
        let start = Utc::now();
        Run {
            id,
            job: "j".into(),
            trigger: Trigger::Cron,
            scheduled_for: None,
            started_at: Some(start),
            finished_at: Some(start + chrono::Duration::milliseconds(ms)),
            status,
            exit_code: None,
            commit: None,
            attempt: 1,
            recap: Vec::new(),
            reason: None,
        }
    }

    #[test]
    fn recent_keeps_the_newest_thirty_and_counts_successes() {
        let mut state = JobState::default();
        assert_eq!(state.success_rate(), None);
        for id in 1..=40 {
            let status = if id % 4 == 0 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            };
            state.remember(&ended(id, status, id as i64 * 10));
        }
        state.remember(&ended(41, RunStatus::Skipped, 0));
        assert_eq!(state.recent.len(), RECENT_RUNS);
        assert_eq!(state.recent[0].run, 11);
        assert_eq!(state.recent[29].run, 40);
        assert_eq!(state.recent[29].ms, 400);
        // Runs 11..=40: 12, 16, …, 40 failed (8 of 30).
        assert_eq!(state.success_rate(), Some(22.0 / 30.0));
        assert_eq!(state.consecutive_failures, 1);
    }
}

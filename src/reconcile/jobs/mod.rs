//! The scheduler: sleeps until the next due instant of any job (no polling
//! loop), fires it, and re-plans whenever the commit in force changes.
//!
//! - Catch-up: at start, each job's missed fire times since the last
//!   instant stored in redb are handled per its `missed` policy, within
//!   `missed_window`.
//! - At most once per instant: a scheduled run and the job's last fire
//!   instant are stored in one transaction before the process starts.
//! - Concurrency holds for every trigger (cron, catch-up, retry, manual,
//!   `after`): `forbid` records a `skipped` run, `replace` stops the
//!   running one, `allow` runs both; so does a shared `lock` ([`lock`]).

mod chain;
mod env;
mod fire;
mod lock;
mod run;

use crate::model::{Applied, Job, Missed, Run, Trigger};
use crate::reconcile::{audit, triggers};
use crate::store::Store;
use chrono::{DateTime, Utc};
pub use env::{Processes, RunEnv, Runner};
use run::Active;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

/// Most missed instants one job catches up at start (`run-all`).
const MAX_CATCH_UP: usize = 100;
/// Runs are recorded this long before their instant (the disk sync is off
/// the critical path); their processes still start at the instant.
const LEAD: chrono::Duration = chrono::Duration::milliseconds(150);

/// Why a run was not started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FireError {
    /// The commit in force has no such job (or no commit is in force).
    #[error("no job `{0}` in the commit in force")]
    NoJob(String),
    /// The instant was recorded already (at most once per instant).
    #[error("this instant already fired")]
    AlreadyFired,
    /// The run could not be recorded, so it was not started.
    #[error("cannot record run: {0}")]
    Record(String),
}

/// A request to run a job now.
pub struct Manual {
    /// Job name.
    pub job: String,
    /// Gets the id of the recorded run (possibly `skipped`), or why not.
    pub reply: oneshot::Sender<Result<u64, FireError>>,
}

/// The scheduler task's state.
pub struct Scheduler {
    /// Runs, logs and each job's last fire instant.
    store: Store,
    /// What every run gets (runner, clock, folders, programs, reports).
    config: RunEnv,
    /// The commit in force, from the commits controller.
    applied: watch::Receiver<Option<Arc<Applied>>>,
    /// The commit the schedule was planned from.
    current: Option<Arc<Applied>>,
    /// Each scheduled job's next instant.
    next: BTreeMap<String, DateTime<Utc>>,
    /// Runs in flight per job.
    active: HashMap<String, Vec<Active>>,
    /// Given to each run task, which sends `(job, token)` when it ends.
    done_tx: mpsc::UnboundedSender<(String, u64, Run)>,
    /// Where ended run tasks report (with the run's last attempt).
    done_rx: mpsc::UnboundedReceiver<(String, u64, Run)>,
    /// The last token handed out (one per run task).
    tokens: u64,
    /// Who holds each shared `lock` and who waits for it.
    locks: lock::Locks,
}

impl Scheduler {
    /// A scheduler following `applied`.
    pub fn new(
        store: Store,
        config: RunEnv,
        applied: watch::Receiver<Option<Arc<Applied>>>,
    ) -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Scheduler {
            store,
            config,
            applied,
            current: None,
            next: BTreeMap::new(),
            active: HashMap::new(),
            done_tx,
            done_rx,
            tokens: 0,
            locks: lock::Locks::default(),
        }
    }

    /// Runs until `shutdown`; then stops running jobs (they end `interrupted`).
    pub async fn run(
        mut self,
        mut manual: mpsc::Receiver<Manual>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let leftovers = audit::logged(&self.store, "could not mark leftover runs", |s| {
            s.interrupt_leftovers("tend stopped while it ran")
        });
        if let Some(runs) = leftovers.await.filter(|r| !r.is_empty()) {
            tracing::warn!(
                count = runs.len(),
                "runs left running by a previous tend marked interrupted"
            );
        }
        let mut first_plan = true;
        loop {
            let latest = self.applied.borrow_and_update().clone();
            if let Some(applied) =
                latest.filter(|a| self.current.as_ref().is_none_or(|c| c.commit != a.commit))
            {
                self.replan(applied, first_plan).await;
                first_plan = false;
            }
            let wake = self.next.values().min().copied();
            let sleep = wake.map(|t| {
                (t - LEAD - self.config.clock.now())
                    .to_std()
                    .unwrap_or_default()
            });
            let give_up = self
                .locks
                .next_deadline()
                .map(|t| (t - self.config.clock.now()).to_std().unwrap_or_default());
            tokio::select! {
                _ = tokio::time::sleep(sleep.unwrap_or(Duration::from_secs(3600))), if sleep.is_some() => self.fire_due().await,
                _ = tokio::time::sleep(give_up.unwrap_or(Duration::from_secs(3600))), if give_up.is_some() => self.expire_waiters().await,
                changed = self.applied.changed() => if changed.is_err() { break },
                Some(m) = manual.recv() => {
                    let result = self.fire(&m.job, None, Trigger::Manual).await;
                    let _ = m.reply.send(result);
                }
                Some((job, token, last)) = self.done_rx.recv() => {
                    self.finished(&job, token);
                    self.unlock(token).await;
                    self.chain(&last).await;
                }
                _ = triggers::stopped(&mut shutdown) => break,
            }
        }
        self.stop_all().await;
    }

    /// Recomputes each job's next instant from the new commit; on the first
    /// plan after start, catches up missed instants per policy.
    async fn replan(&mut self, applied: Arc<Applied>, catch_up: bool) {
        tracing::info!(commit = %applied.commit, jobs = applied.desired.jobs.len(), "scheduler re-planned");
        self.current = Some(applied.clone());
        let now = self.config.clock.now();
        self.next.clear();
        let names = applied.desired.job_names();
        let what = "cannot read job states; planning from now";
        let states = audit::logged(&self.store, what, move |s| s.reader().job_states(&names));
        let states = states
            .await
            .unwrap_or_else(|| vec![Default::default(); applied.desired.jobs.len()]);
        for (job, state) in applied.desired.jobs.iter().zip(states) {
            let Some(schedule) = &job.schedule else {
                continue;
            };
            let last = state.last_fire;
            if let (true, Some(last)) = (catch_up, last) {
                let missed = schedule.missed(last, now, job.missed_window, MAX_CATCH_UP);
                self.catch_up(job, missed).await;
            } else if let Some(at) = schedule.once_at().filter(|at| last.is_none_or(|l| l < *at)) {
                // A one-off run whose time passed before any commit had it
                // (or while tend was down): it is caught up per `missed`.
                let since = at - chrono::Duration::seconds(1);
                let missed = schedule.missed(since, now, job.missed_window, 1);
                self.catch_up(job, missed).await;
            }
            if let Some(t) = schedule.next_after(last.map_or(now, |l| l.max(now))) {
                self.next.insert(job.name.clone(), t.with_timezone(&Utc));
            }
        }
    }

    /// Handles `missed` instants of `job` per its `missed` policy: one
    /// skipped run, one catch-up run of the newest, or a run of each.
    async fn catch_up(&mut self, job: &Job, missed: Vec<DateTime<Utc>>) {
        let Some(newest) = missed.last().copied() else {
            return;
        };
        match job.missed {
            Missed::Skip => {
                let reason = format!(
                    "{} fire time(s) missed while tend was down; missed = skip",
                    missed.len()
                );
                self.record_skip(job, Some(newest), Trigger::CatchUp, reason)
                    .await;
            }
            Missed::RunOnce => {
                let _ = self.fire(&job.name, Some(newest), Trigger::CatchUp).await;
            }
            Missed::RunAll => {
                for t in missed {
                    let _ = self.fire(&job.name, Some(t), Trigger::CatchUp).await;
                }
            }
        }
    }

    /// Fires every job whose instant is due (within [`LEAD`]) in one batch
    /// and plans each one's next instant.
    async fn fire_due(&mut self) {
        let now = self.config.clock.now() + LEAD;
        let due: Vec<(String, DateTime<Utc>)> = self
            .next
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(j, t)| (j.clone(), *t))
            .collect();
        let batch = due
            .iter()
            .map(|(name, t)| (name.clone(), Some(*t), Trigger::Cron))
            .collect();
        self.fire_batch(batch).await;
        for (name, instant) in due {
            let next = self
                .job(&name)
                .and_then(|j| j.schedule.as_ref()?.next_after(instant.max(now)));
            match next {
                Some(t) => self.next.insert(name, t.with_timezone(&Utc)),
                None => self.next.remove(&name),
            };
        }
    }

    /// Job `name` of the commit in force (`None` when no commit is in force
    /// or it has no such job).
    fn job(&self, name: &str) -> Option<Job> {
        self.current
            .as_ref()?
            .desired
            .jobs
            .iter()
            .find(|j| j.name == name)
            .cloned()
    }

    /// Forgets the run task `token` of `job`, which has ended (a token, not
    /// the job, so a replaced run ending late never frees its successor's
    /// slot).
    fn finished(&mut self, job: &str, token: u64) {
        if let Some(list) = self.active.get_mut(job) {
            list.retain(|a| a.token != token);
            if list.is_empty() {
                self.active.remove(job);
            }
        }
    }

    /// Stops every run in flight and waits for them within the grace period;
    /// a run still going after it is left to the runner's kill, and is
    /// recorded `interrupted` on the next start.
    async fn stop_all(&mut self) {
        self.drop_waiting(None, "tend stopped while it waited for its lock")
            .await;
        let mut waits = Vec::new();
        for a in self.active.values_mut().flatten() {
            a.stop();
            waits.push(a.take_handle());
        }
        let all = futures_join(waits);
        if tokio::time::timeout(self.config.grace, all).await.is_err() {
            tracing::warn!("running jobs did not stop within the grace period");
        }
    }
}

/// Waits for each of `handles` in turn (a task that panicked or was
/// cancelled counts as ended).
async fn futures_join(handles: Vec<Option<tokio::task::JoinHandle<()>>>) {
    for h in handles.into_iter().flatten() {
        let _ = h.await;
    }
}

#[cfg(test)]
mod tests;

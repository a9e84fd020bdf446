//! Firing runs: a job's concurrency decides against the runs in flight
//! (`forbid` records a skipped run, `replace` stops them, `allow` runs
//! both), then its `lock` ([`super::lock`]); the runs to start (or to
//! queue as `waiting`) are recorded in one transaction (at most once per
//! instant), then their tasks spawn.
//!
//! Recording before spawning is what makes "at most once per instant"
//! hold across crashes: an instant whose runs are stored is never fired
//! again, and a run that is stored but never ended is closed as
//! interrupted on the next start. Firing several jobs of one instant in
//! one transaction keeps a minute with many due jobs to one store write.

use super::lock::Claim;
use super::run::{self, Active, Launch};
use super::{FireError, Scheduler};
use crate::model::{Applied, Concurrency, Job, RunStatus, Trigger};
use crate::reconcile::audit;
use chrono::{DateTime, Utc};

/// A run to fire: job name, its instant (scheduled runs), what fired it.
pub(super) type Item = (String, Option<DateTime<Utc>>, Trigger);

impl Scheduler {
    /// Starts (or skips, per concurrency) one run of `name`: a manual run,
    /// a catch-up or a cron instant of one job (a batch of one).
    pub(super) async fn fire(
        &mut self,
        name: &str,
        instant: Option<DateTime<Utc>>,
        trigger: Trigger,
    ) -> Result<u64, FireError> {
        let mut results = self
            .fire_batch(vec![(name.to_owned(), instant, trigger)])
            .await;
        let nothing = FireError::NoJob(name.to_owned());
        results.pop().unwrap_or(Err(nothing))
    }

    /// Starts (or skips, per concurrency and lock) runs of several jobs:
    /// the runs to start are recorded in one transaction, then their
    /// processes spawn. A run whose lock another run of the batch just took
    /// goes into a second round, so its `waiting` record names that run.
    pub(super) async fn fire_batch(&mut self, items: Vec<Item>) -> Vec<Result<u64, FireError>> {
        let mut results: Vec<Result<u64, FireError>> = items
            .iter()
            .map(|(n, ..)| Err(FireError::NoJob(n.clone())))
            .collect();
        let Some(applied) = self.current.clone() else {
            return results;
        };
        let mut round: Vec<(usize, Item)> = items.into_iter().enumerate().collect();
        // Each round empties the set of locks held by unrecorded runs.
        while !round.is_empty() {
            round = self.fire_round(&applied, round, &mut results).await;
        }
        results
    }

    /// One round of [`Scheduler::fire_batch`]: returns the items deferred.
    async fn fire_round(
        &mut self,
        applied: &Applied,
        items: Vec<(usize, Item)>,
        results: &mut [Result<u64, FireError>],
    ) -> Vec<(usize, Item)> {
        let mut deferred = Vec::new();
        let mut to_start: Vec<(usize, Job, u64, bool)> = Vec::new();
        let mut batch = Vec::new();
        for (slot, (name, instant, trigger)) in items {
            let Some(job) = self.job(&name) else {
                continue;
            };
            if self.lock_pending(&job) {
                deferred.push((slot, (name, instant, trigger)));
                continue;
            }
            if let Some(reason) = self.admit(&job).await {
                let skipped = self.record_skip(&job, instant, trigger, reason).await;
                results[slot] = skipped.ok_or(FireError::AlreadyFired);
                continue;
            }
            self.tokens += 1;
            let token = self.tokens;
            let (status, reason) = match self.claim(&job, token) {
                Claim::Go => (RunStatus::Running, None),
                Claim::Wait(why) => (RunStatus::Waiting, Some(why)),
                Claim::Skip(why) => {
                    let skipped = self.record_skip(&job, instant, trigger, why).await;
                    results[slot] = skipped.ok_or(FireError::AlreadyFired);
                    continue;
                }
            };
            let now = self.config.clock.now();
            let run = run::new_run(&job, trigger, instant, &applied.commit, status, reason, now);
            batch.push((run, instant));
            to_start.push((slot, job, token, status == RunStatus::Waiting));
        }
        if batch.is_empty() {
            return deferred;
        }
        let started = match audit::call(&self.store, move |s| s.start_runs(batch)).await {
            Ok(runs) => runs,
            Err(e) => {
                for (_, _, token, _) in &to_start {
                    self.unlock(*token).await;
                }
                fail_all(results, &to_start, FireError::Record(e.to_string()));
                return deferred;
            }
        };
        for ((slot, job, token, waits), run) in to_start.into_iter().zip(started) {
            let Some(run) = run else {
                results[slot] = Err(FireError::AlreadyFired);
                self.unlock(token).await;
                continue;
            };
            results[slot] = Ok(run.id);
            let name = job.name.clone();
            let launch = Launch {
                store: self.store.clone(),
                config: self.config.clone(),
                dir: applied.dir.clone(),
                job,
                token,
                done: self.done_tx.clone(),
            };
            if waits {
                tracing::info!(job = %name, run = run.id, reason = ?run.reason, "run waits for its lock");
                self.wait(launch, run);
                continue;
            }
            self.active
                .entry(name)
                .or_default()
                .push(run::spawn(launch, run));
        }
        deferred
    }

    /// Applies `job`'s concurrency to its runs in flight: `Some(reason)`
    /// when the new run is to be skipped (`forbid`); `replace` stops them.
    /// The same rule holds for every trigger — cron, catch-up, retry and
    /// manual — so "never two at once" means never.
    async fn admit(&mut self, job: &Job) -> Option<String> {
        if job.concurrency == Concurrency::Replace {
            let why = "replaced by a newer run (concurrency: replace)";
            self.drop_waiting(Some(&job.name), why).await;
        }
        let running = self.active.get(&job.name).filter(|a| !a.is_empty())?;
        match job.concurrency {
            Concurrency::Forbid => {
                let ids: Vec<String> = running.iter().map(|r| format!("#{}", r.run_id())).collect();
                Some(format!(
                    "run {} still running (concurrency: forbid)",
                    ids.join(", ")
                ))
            }
            Concurrency::Replace => {
                running.iter().for_each(Active::stop);
                None
            }
            Concurrency::Allow => None,
        }
    }

    /// Records a `skipped` run of `job` with `reason` (and its alerts);
    /// `None` when its instant fired already. A skipped run is a run record
    /// of its own, so the history shows every instant and why it did not
    /// run, and `missed` rules can alert on it.
    pub(super) async fn record_skip(
        &self,
        job: &Job,
        instant: Option<DateTime<Utc>>,
        trigger: Trigger,
        reason: String,
    ) -> Option<u64> {
        let commit = self.current.as_ref().map_or("", |a| a.commit.as_str());
        let run = run::new_run(
            job,
            trigger,
            instant,
            commit,
            RunStatus::Skipped,
            Some(reason.clone()),
            self.config.clock.now(),
        );
        let mail = self.config.mail.clone();
        tracing::info!(job = %job.name, %reason, "run skipped");
        let recorded = audit::logged(&self.store, "cannot record skipped run", move |s| {
            let run = s.start_run(run, instant)?;
            if let Some(run) = &run {
                let letters = mail.map(|m| m.run(run, b"", true)).unwrap_or_default();
                s.finish_run(run, Default::default(), b"", &letters)?;
            }
            Ok(run)
        });
        recorded.await.flatten().map(|r| r.id)
    }
}

/// Answers every run of `to_start` with `why` (the store refused to record
/// them: nothing is started, and each caller gets the error).
fn fail_all(
    results: &mut [Result<u64, FireError>],
    to_start: &[(usize, Job, u64, bool)],
    why: FireError,
) {
    tracing::error!(cause = %why, "cannot start runs");
    for (slot, ..) in to_start {
        results[*slot] = Err(why.clone());
    }
}

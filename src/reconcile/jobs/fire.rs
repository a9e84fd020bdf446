//! Firing runs: a job's concurrency decides against the runs in flight
//! (`forbid` records a skipped run, `replace` stops them, `allow` runs
//! both); the runs to start are recorded in one transaction (at most once
//! per instant), then their tasks spawn.
//!
//! Recording before spawning is what makes "at most once per instant"
//! hold across crashes: an instant whose runs are stored is never fired
//! again, and a run that is stored but never ended is closed as
//! interrupted on the next start. Firing several jobs of one instant in
//! one transaction keeps a minute with many due jobs to one store write.

use super::run::{self, Active, Launch};
use super::{FireError, Scheduler};
use crate::model::{Concurrency, Job, RunStatus, Trigger};
use crate::reconcile::audit;
use chrono::{DateTime, Utc};

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

    /// Starts (or skips, per concurrency) runs of several jobs: all the runs
    /// to start are recorded in one transaction, then their processes spawn.
    pub(super) async fn fire_batch(
        &mut self,
        items: Vec<(String, Option<DateTime<Utc>>, Trigger)>,
    ) -> Vec<Result<u64, FireError>> {
        let Some(applied) = self.current.clone() else {
            return items
                .iter()
                .map(|(n, ..)| Err(FireError::NoJob(n.clone())))
                .collect();
        };
        let mut results: Vec<Result<u64, FireError>> = Vec::with_capacity(items.len());
        let mut to_start: Vec<(usize, Job)> = Vec::new();
        let mut batch = Vec::new();
        for (name, instant, trigger) in items {
            let Some(job) = self.job(&name) else {
                results.push(Err(FireError::NoJob(name)));
                continue;
            };
            if let Some(reason) = self.admit(&job) {
                let skipped = self.record_skip(&job, instant, trigger, reason).await;
                results.push(skipped.ok_or(FireError::AlreadyFired));
                continue;
            }
            batch.push((
                run::new_run(
                    &job,
                    trigger,
                    instant,
                    &applied.commit,
                    RunStatus::Running,
                    None,
                    self.config.clock.now(),
                ),
                instant,
            ));
            to_start.push((results.len(), job));
            results.push(Err(FireError::Record("not started".into())));
        }
        if batch.is_empty() {
            return results;
        }
        let started = match audit::call(&self.store, move |s| s.start_runs(batch)).await {
            Ok(runs) => runs,
            Err(e) => return fail_all(results, &to_start, FireError::Record(e.to_string())),
        };
        for ((slot, job), run) in to_start.into_iter().zip(started) {
            let Some(run) = run else {
                results[slot] = Err(FireError::AlreadyFired);
                continue;
            };
            self.tokens += 1;
            results[slot] = Ok(run.id);
            let name = job.name.clone();
            let launch = Launch {
                store: self.store.clone(),
                config: self.config.clone(),
                dir: applied.dir.clone(),
                job,
                token: self.tokens,
                done: self.done_tx.clone(),
            };
            self.active
                .entry(name)
                .or_default()
                .push(run::spawn(launch, run));
        }
        results
    }

    /// Applies `job`'s concurrency to its runs in flight: `Some(reason)`
    /// when the new run is to be skipped (`forbid`); `replace` stops them.
    /// The same rule holds for every trigger — cron, catch-up, retry and
    /// manual — so "never two at once" means never.
    fn admit(&self, job: &Job) -> Option<String> {
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
    mut results: Vec<Result<u64, FireError>>,
    to_start: &[(usize, Job)],
    why: FireError,
) -> Vec<Result<u64, FireError>> {
    tracing::error!(cause = %why, "cannot start runs");
    for (slot, _) in to_start {
        results[*slot] = Err(why.clone());
    }
    results
}

//! Shared locks: jobs (and stack jobs) with the same `lock` never run at
//! the same time, whatever fired them. A run holds its lock from its first
//! attempt to its last (retries and their backoff included). A run whose
//! lock is held is recorded `waiting`, with the holder in its reason, and
//! queued in order; it starts when the lock is free, or ends `timed_out`
//! when it has waited its job's `timeout`. A `concurrency: forbid` job does
//! not wait: its run is recorded `skipped` with the holder.

use super::Scheduler;
use super::run::{self, Active, Launch};
use crate::model::{Job, Run, RunStatus};
use crate::reconcile::audit;
use crate::store::{Retention, Store};
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};

/// Who holds each lock and who waits for it.
#[derive(Default)]
pub(super) struct Locks {
    /// Lock name → the job and run task token holding it.
    held: HashMap<String, (String, u64)>,
    /// Lock name → the runs waiting for it, oldest first.
    queue: HashMap<String, VecDeque<Waiter>>,
}

/// A recorded `waiting` run and what it needs to start.
pub(super) struct Waiter {
    /// Its run task, ready to spawn.
    pub launch: Launch,
    /// The `waiting` record.
    pub run: Run,
    /// When it stops waiting (its job's timeout).
    pub deadline: DateTime<Utc>,
}

/// What a new run of a job with a lock does.
pub(super) enum Claim {
    /// No lock, or the lock was free and is now held by the run's token.
    Go,
    /// The lock is held: the run waits; the text says by whom.
    Wait(String),
    /// The lock is held and the job's concurrency is `forbid`.
    Skip(String),
}

impl Locks {
    /// The earliest deadline of a waiting run.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.queue.values().flatten().map(|w| w.deadline).min()
    }

    /// Frees the lock `token` holds, returning its name.
    fn release(&mut self, token: u64) -> Option<String> {
        let name = self
            .held
            .iter()
            .find(|(_, (_, t))| *t == token)
            .map(|(n, _)| n.clone())?;
        self.held.remove(&name);
        Some(name)
    }

    /// Takes out the waiting runs that `pick` chooses, in every queue.
    fn take(&mut self, mut pick: impl FnMut(&Waiter) -> bool) -> Vec<Waiter> {
        let mut out = Vec::new();
        for queue in self.queue.values_mut() {
            let (gone, kept): (VecDeque<Waiter>, VecDeque<Waiter>) =
                std::mem::take(queue).into_iter().partition(|w| pick(w));
            *queue = kept;
            out.extend(gone);
        }
        self.queue.retain(|_, q| !q.is_empty());
        out
    }
}

impl Scheduler {
    /// Decides a new run of `job` (task `token`) against its lock.
    pub(super) fn claim(&mut self, job: &Job, token: u64) -> Claim {
        let Some(name) = &job.lock else {
            return Claim::Go;
        };
        let holder = self.locks.held.get(name).map(|(j, t)| self.describe(j, *t));
        let queued = self.locks.queue.get(name).is_some_and(|q| !q.is_empty());
        match holder {
            None if !queued => {
                self.locks
                    .held
                    .insert(name.clone(), (job.name.clone(), token));
                Claim::Go
            }
            holder => {
                let by = holder.unwrap_or_else(|| "jobs waiting before it".into());
                let text = format!("lock {name} held by {by}");
                match job.concurrency {
                    crate::model::Concurrency::Forbid => Claim::Skip(text),
                    _ => Claim::Wait(format!("waiting: {text}")),
                }
            }
        }
    }

    /// True when `job`'s lock was just taken by a run not recorded yet (of
    /// the same batch): the job waits for the batch's next round.
    pub(super) fn lock_pending(&self, job: &Job) -> bool {
        let Some((holder, token)) = job.lock.as_ref().and_then(|l| self.locks.held.get(l)) else {
            return false;
        };
        let active = self.active.get(holder);
        !active.is_some_and(|list| list.iter().any(|a| a.token == *token))
    }

    /// "job X run N" for the run task `token` of job `job`.
    fn describe(&self, job: &str, token: u64) -> String {
        let id = self
            .active
            .get(job)
            .and_then(|list| list.iter().find(|a| a.token == token))
            .map(Active::run_id);
        match id {
            Some(id) => format!("job {job} run {id}"),
            None => format!("job {job}"),
        }
    }

    /// Queues a recorded `waiting` run behind its lock.
    pub(super) fn wait(&mut self, launch: Launch, run: Run) {
        let Some(name) = launch.job.lock.clone() else {
            return;
        };
        let timeout =
            chrono::Duration::from_std(launch.job.timeout).unwrap_or(chrono::Duration::MAX);
        let now = self.config.clock.now();
        let deadline = now
            .checked_add_signed(timeout)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let waiter = Waiter {
            launch,
            run,
            deadline,
        };
        self.locks.queue.entry(name).or_default().push_back(waiter);
    }

    /// The run task `token` ended (or never started): frees its lock and
    /// starts the runs waiting for it, oldest first.
    pub(super) async fn unlock(&mut self, token: u64) {
        if let Some(name) = self.locks.release(token) {
            self.grant(&name).await;
        }
    }

    /// Starts the oldest run waiting for the free lock `name`.
    async fn grant(&mut self, name: &str) {
        if self.locks.held.contains_key(name) {
            return;
        }
        let Some(w) = self.locks.queue.get_mut(name).and_then(VecDeque::pop_front) else {
            return;
        };
        self.locks.queue.retain(|_, q| !q.is_empty());
        let Waiter {
            launch, mut run, ..
        } = w;
        run.status = RunStatus::Running;
        run.started_at = Some(self.config.clock.now());
        run.reason = None;
        let record = run.clone();
        audit::logged(
            &self.store,
            "cannot record the start of a waiting run",
            move |s| s.update_run(&record),
        )
        .await;
        let job = launch.job.name.clone();
        self.locks
            .held
            .insert(name.to_owned(), (job.clone(), launch.token));
        self.active
            .entry(job)
            .or_default()
            .push(run::spawn(launch, run));
    }

    /// Ends every waiting run whose deadline has passed as `timed_out`.
    pub(super) async fn expire_waiters(&mut self) {
        let now = self.config.clock.now();
        for w in self.locks.take(|w| w.deadline <= now) {
            let lock = w.launch.job.lock.clone().unwrap_or_default();
            let waited = crate::model::humantime(w.launch.job.timeout);
            let why = w.run.reason.clone().unwrap_or_default();
            let reason =
                format!("waited {waited} (its timeout) for lock {lock} and gave up ({why})");
            let last = self.end_waiter(w, RunStatus::TimedOut, reason).await;
            self.chain(&last).await;
        }
    }

    /// Ends the waiting runs of `job` (or of every job with `None`) as
    /// `interrupted` with `reason`: replaced by a newer run, or tend stops.
    pub(super) async fn drop_waiting(&mut self, job: Option<&str>, reason: &str) {
        for w in self
            .locks
            .take(|w| job.is_none_or(|j| w.launch.job.name == j))
        {
            self.end_waiter(w, RunStatus::Interrupted, reason.to_owned())
                .await;
        }
    }

    /// Stores the end of a run that never left the queue, with its alerts.
    async fn end_waiter(&self, w: Waiter, status: RunStatus, reason: String) -> Run {
        let mut run = w.run;
        run.status = status;
        run.reason = Some(reason);
        run.finished_at = Some(self.config.clock.now());
        tracing::info!(job = %run.job, run = run.id, ?status, "waiting run ended");
        let mail = self.config.mail.clone();
        let record = run.clone();
        audit::logged(
            &self.store,
            "cannot record the end of a waiting run",
            move |s: Store| {
                let letters = mail.map(|m| m.run(&record, b"", true)).unwrap_or_default();
                s.finish_run(&record, Retention::default(), b"", &letters)
            },
        )
        .await;
        run
    }
}

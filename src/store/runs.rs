//! Runs, their logs and per-job scheduler state.
//!
//! Tables: `runs` (id → run), `job_runs` ((job, id) → (), the per-job index
//! for paging), `active` (ids of runs still `running` or `waiting`), `logs` ((id, chunk)
//! → bytes) and `job_state` (job → last fire instant, failures). Starting a
//! scheduled run and advancing the job's last fire instant happen in one
//! transaction, so an instant fires at most once, even across crashes.

use super::{Store, StoreError, db, decode, encode};
use crate::model::{JobState, Letter, Run, RunStatus};
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};

pub(super) const RUNS: TableDefinition<u64, &[u8]> = TableDefinition::new("runs");
pub(super) const JOB_RUNS: TableDefinition<(&str, u64), ()> = TableDefinition::new("job_runs");
pub(super) const ACTIVE: TableDefinition<u64, ()> = TableDefinition::new("active");
pub(super) const LOGS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("logs");
pub(super) const JOB_STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("job_state");

/// How much history to keep.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Newest runs kept per job.
    pub runs_per_job: usize,
    /// Runs older than this are removed.
    pub max_age: chrono::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            runs_per_job: 500,
            max_age: chrono::Duration::days(90),
        }
    }
}

impl Store {
    /// Records a new run (its `id` is assigned here). For a scheduled run,
    /// `fire` is its instant: the run is recorded only if that instant is
    /// newer than the job's last fire, which advances in the same
    /// transaction. Returns `None` when the instant already fired.
    pub fn start_run(
        &self,
        run: Run,
        fire: Option<DateTime<Utc>>,
    ) -> Result<Option<Run>, StoreError> {
        Ok(self.start_runs(vec![(run, fire)])?.pop().flatten())
    }

    /// [`Store::start_run`] for several runs in one transaction (one disk
    /// sync for all the jobs due at the same instant).
    pub fn start_runs(
        &self,
        batch: Vec<(Run, Option<DateTime<Utc>>)>,
    ) -> Result<Vec<Option<Run>>, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let mut out = Vec::with_capacity(batch.len());
        let mut remembered = Vec::with_capacity(batch.len());
        {
            let mut states = tx.open_table(JOB_STATE).map_err(db)?;
            let mut runs = tx.open_table(RUNS).map_err(db)?;
            let mut index = tx.open_table(JOB_RUNS).map_err(db)?;
            let mut active = tx.open_table(ACTIVE).map_err(db)?;
            let mut next_id = runs.last().map_err(db)?.map_or(1, |(k, _)| k.value() + 1);
            for (mut run, fire) in batch {
                let mut now_state = None;
                if let Some(instant) = fire {
                    let mut state: JobState = match states.get(run.job.as_str()).map_err(db)? {
                        Some(v) => decode("job state", v.value())?,
                        None => JobState::default(),
                    };
                    if state.last_fire.is_some_and(|last| last >= instant) {
                        out.push(None);
                        continue;
                    }
                    state.last_fire = Some(instant);
                    states
                        .insert(run.job.as_str(), encode("job state", &state)?.as_slice())
                        .map_err(db)?;
                    now_state = Some(state);
                }
                run.id = next_id;
                next_id += 1;
                runs.insert(run.id, encode("run", &run)?.as_slice())
                    .map_err(db)?;
                index.insert((run.job.as_str(), run.id), ()).map_err(db)?;
                if matches!(run.status, RunStatus::Running | RunStatus::Waiting) {
                    active.insert(run.id, ()).map_err(db)?;
                }
                remembered.push(now_state);
                out.push(Some(run));
            }
        }
        tx.commit().map_err(db)?;
        for (run, state) in out.iter().flatten().zip(&remembered) {
            self.cache.wrote(run, state.as_ref());
        }
        Ok(out)
    }

    /// Stores a run's final state and the end of its log, updates the job's
    /// failure count, queues the alerts it causes, and applies retention to
    /// the job's history — in one transaction.
    pub fn finish_run(
        &self,
        run: &Run,
        keep: Retention,
        log_tail: &[u8],
        letters: &[Letter],
    ) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let state = {
            tx.open_table(RUNS)
                .map_err(db)?
                .insert(run.id, encode("run", run)?.as_slice())
                .map_err(db)?;
            if !log_tail.is_empty() {
                let mut logs = tx.open_table(LOGS).map_err(db)?;
                let next = logs
                    .range((run.id, 0)..=(run.id, u32::MAX))
                    .map_err(db)?
                    .next_back()
                    .transpose()
                    .map_err(db)?
                    .map_or(0, |(k, _)| k.value().1 + 1);
                logs.insert((run.id, next), log_tail).map_err(db)?;
            }
            tx.open_table(ACTIVE)
                .map_err(db)?
                .remove(run.id)
                .map_err(db)?;
            let mut states = tx.open_table(JOB_STATE).map_err(db)?;
            let mut state: JobState = match states.get(run.job.as_str()).map_err(db)? {
                Some(v) => decode("job state", v.value())?,
                None => JobState::default(),
            };
            state.remember(run);
            states
                .insert(run.job.as_str(), encode("job state", &state)?.as_slice())
                .map_err(db)?;
            state
        };
        prune(&tx, &run.job, keep)?;
        let queued = super::outbox::post(&tx, letters, Utc::now())?;
        tx.commit().map_err(db)?;
        self.cache.wrote(run, Some(&state));
        self.wake_outbox(queued);
        Ok(())
    }

    /// Stores a new state of a run still in flight (a waiting run that got
    /// its lock and starts).
    pub fn update_run(&self, run: &Run) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        tx.open_table(RUNS)
            .map_err(db)?
            .insert(run.id, encode("run", run)?.as_slice())
            .map_err(db)?;
        tx.commit().map_err(db)?;
        self.cache.wrote(run, None);
        Ok(())
    }

    /// Appends one chunk of a run's log.
    pub fn append_log(&self, run: u64, chunk: u32, bytes: &[u8]) -> Result<(), StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        tx.open_table(LOGS)
            .map_err(db)?
            .insert((run, chunk), bytes)
            .map_err(db)?;
        tx.commit().map_err(db)
    }

    /// Marks runs left `running` (or `waiting`) by a previous process as
    /// `interrupted`.
    pub fn interrupt_leftovers(&self, reason: &str) -> Result<Vec<Run>, StoreError> {
        let ids: Vec<u64> = {
            let tx = self.db.begin_read().map_err(db)?;
            let active = tx.open_table(ACTIVE).map_err(db)?;
            active
                .iter()
                .map_err(db)?
                .filter_map(|e| e.ok().map(|(k, _)| k.value()))
                .collect()
        };
        let mut done = Vec::new();
        for id in ids {
            if let Some(mut run) = self.reader().run(id)? {
                run.status = RunStatus::Interrupted;
                run.finished_at = Some(Utc::now());
                run.reason = Some(reason.to_owned());
                self.finish_run(&run, Retention::default(), b"", &[])?;
                done.push(run);
            }
        }
        Ok(done)
    }
}

/// Removes the job's runs beyond `keep` (count and age), with their logs.
fn prune(tx: &redb::WriteTransaction, job: &str, keep: Retention) -> Result<(), StoreError> {
    let mut index = tx.open_table(JOB_RUNS).map_err(db)?;
    let mut runs = tx.open_table(RUNS).map_err(db)?;
    let ids: Vec<u64> = index
        .range((job, 0)..=(job, u64::MAX))
        .map_err(db)?
        .rev()
        .filter_map(|e| e.ok().map(|(k, _)| k.value().1))
        .collect();
    let cutoff = Utc::now() - keep.max_age;
    let mut logs = tx.open_table(LOGS).map_err(db)?;
    for (i, id) in ids.iter().enumerate() {
        let old = match runs.get(*id).map_err(db)? {
            Some(v) => decode::<Run>("run", v.value())?
                .finished_at
                .is_some_and(|t| t < cutoff),
            None => true,
        };
        if i < keep.runs_per_job && !old {
            continue;
        }
        runs.remove(*id).map_err(db)?;
        index.remove((job, *id)).map_err(db)?;
        let chunks: Vec<u32> = logs
            .range((*id, 0)..=(*id, u32::MAX))
            .map_err(db)?
            .filter_map(|e| e.ok().map(|(k, _)| k.value().1))
            .collect();
        for c in chunks {
            logs.remove((*id, c)).map_err(db)?;
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::model::Trigger;

    /// A running run of `job`, not yet stored.
    pub(in crate::store) fn run(job: &str) -> Run {
        Run {
            id: 0,
            job: job.into(),
            trigger: Trigger::Cron,
            scheduled_for: None,
            started_at: Some(Utc::now()),
            finished_at: None,
            status: RunStatus::Running,
            exit_code: None,
            commit: None,
            attempt: 1,
            recap: vec![],
            reason: None,
        }
    }

    #[test]
    fn an_instant_fires_once_and_leftovers_are_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let t = Utc::now();
        let first = store.start_run(run("a"), Some(t)).unwrap().unwrap();
        assert_eq!(first.id, 1);
        assert!(
            store.start_run(run("a"), Some(t)).unwrap().is_none(),
            "same instant"
        );
        assert!(
            store
                .start_run(run("a"), Some(t - chrono::Duration::seconds(1)))
                .unwrap()
                .is_none()
        );
        assert!(
            store.start_run(run("b"), Some(t)).unwrap().is_some(),
            "other job"
        );
        drop(store);
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let left = store.interrupt_leftovers("tend stopped").unwrap();
        assert_eq!(left.len(), 2);
        assert_eq!(
            store.reader().run(1).unwrap().unwrap().status,
            RunStatus::Interrupted
        );
        assert!(store.interrupt_leftovers("again").unwrap().is_empty());
    }

    fn ids(runs: &[Run]) -> Vec<u64> {
        runs.iter().map(|r| r.id).collect()
    }

    #[test]
    fn history_is_paged_filtered_and_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let keep = Retention {
            runs_per_job: 3,
            ..Retention::default()
        };
        for i in 0..5 {
            let mut r = store
                .start_run(run(if i % 2 == 0 { "a" } else { "b" }), None)
                .unwrap()
                .unwrap();
            r.status = if i == 4 {
                RunStatus::Failed
            } else {
                RunStatus::Succeeded
            };
            r.finished_at = Some(Utc::now());
            store
                .append_log(r.id, 0, format!("log of {}\n", r.id).as_bytes())
                .unwrap();
            store.finish_run(&r, keep, b"", &[]).unwrap();
        }
        let reader = store.reader();
        let a = ids(&reader.runs(Some("a"), None, 10, None).unwrap());
        assert_eq!(a, vec![5, 3, 1]);
        assert_eq!(reader.runs(Some("a"), None, 2, Some(5)).unwrap().len(), 2);
        let failed = reader
            .runs(None, Some(RunStatus::Failed), 10, None)
            .unwrap();
        assert_eq!(ids(&failed), vec![5]);
        assert_eq!(reader.job_state("a").unwrap().consecutive_failures, 1);
        let seen = reader.overview(&["a", "b", "none"]).unwrap();
        assert_eq!(
            seen.iter()
                .map(|(r, s)| (r.as_ref().map(|r| r.id), s.recent.len()))
                .collect::<Vec<_>>(),
            vec![(Some(5), 3), (Some(4), 2), (None, 0)]
        );
        assert_eq!(
            String::from_utf8(reader.log(3).unwrap()).unwrap(),
            "log of 3\n"
        );
        let mut extra = store.start_run(run("a"), None).unwrap().unwrap();
        extra.status = RunStatus::Succeeded;
        store.finish_run(&extra, keep, b"tail\n", &[]).unwrap();
        let a = ids(&reader.runs(Some("a"), None, 10, None).unwrap());
        assert_eq!(a, vec![6, 5, 3], "oldest pruned beyond 3 per job");
        assert!(reader.log(1).unwrap().is_empty(), "its log went with it");
    }
}

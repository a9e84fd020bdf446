//! Reading runs: one run, a page of a job's runs, a run's log and the
//! scheduler state of jobs (the writes are in [`super::runs`]).

use super::runs::{JOB_RUNS, JOB_STATE, LOGS, RUNS};
use super::{StoreError, StoreReader, db, decode};
use crate::model::{JobState, Run, RunStatus};
use redb::ReadableDatabase;

impl StoreReader {
    /// One run.
    pub fn run(&self, id: u64) -> Result<Option<Run>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let runs = tx.open_table(RUNS).map_err(db)?;
        runs.get(id)
            .map_err(db)?
            .map(|v| decode("run", v.value()))
            .transpose()
    }

    /// Runs newest first, optionally of one job and/or one status, with ids
    /// below `before`.
    pub fn runs(
        &self,
        job: Option<&str>,
        status: Option<RunStatus>,
        limit: usize,
        before: Option<u64>,
    ) -> Result<Vec<Run>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let runs = tx.open_table(RUNS).map_err(db)?;
        let end = before.unwrap_or(u64::MAX);
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut keep = |run: Run| {
            if status.is_none_or(|s| s == run.status) {
                out.push(run);
            }
            out.len() < limit
        };
        // Walk newest first and stop at `limit` matches.
        match job {
            Some(job) => {
                let index = tx.open_table(JOB_RUNS).map_err(db)?;
                for entry in index.range((job, 0)..(job, end)).map_err(db)?.rev() {
                    let id = entry.map_err(db)?.0.value().1;
                    let Some(v) = runs.get(id).map_err(db)? else {
                        continue;
                    };
                    if !keep(decode("run", v.value())?) {
                        break;
                    }
                }
            }
            None => {
                for entry in runs.range(..end).map_err(db)?.rev() {
                    let (_, v) = entry.map_err(db)?;
                    if !keep(decode("run", v.value())?) {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    /// A run's whole log as stored.
    pub fn log(&self, run: u64) -> Result<Vec<u8>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let logs = tx.open_table(LOGS).map_err(db)?;
        let mut out = Vec::new();
        for entry in logs.range((run, 0)..=(run, u32::MAX)).map_err(db)? {
            let (_, v) = entry.map_err(db)?;
            out.extend_from_slice(v.value());
        }
        Ok(out)
    }

    /// What the scheduler remembers of a job.
    pub fn job_state(&self, job: &str) -> Result<JobState, StoreError> {
        Ok(self.job_states(&[job])?.pop().unwrap_or_default())
    }

    /// What the scheduler remembers of each of `jobs`, read in one transaction.
    pub fn job_states<S: AsRef<str>>(&self, jobs: &[S]) -> Result<Vec<JobState>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let states = tx.open_table(JOB_STATE).map_err(db)?;
        jobs.iter()
            .map(|job| match states.get(job.as_ref()).map_err(db)? {
                Some(v) => decode("job state", v.value()),
                None => Ok(JobState::default()),
            })
            .collect()
    }
}

//! The job overview — each job's newest run and remembered state — read in
//! one transaction and then kept current by the writers (write-through), so
//! the dashboard and `/api/v1/jobs` cost one read per commit of the config,
//! not one per request, even while jobs run every second.
//!
//! Consistency: writers update the cached entries under the lock after
//! their transaction commits and count the write; a reader installs what it
//! read only when no write was counted since it began, so a read that raced
//! a write never replaces fresher values.

use super::runs::{JOB_RUNS, JOB_STATE, RUNS};
use super::{StoreError, StoreReader, db, decode};
use crate::model::{JobState, Run};
use redb::ReadableDatabase;
use std::sync::{Arc, Mutex, MutexGuard};

/// One job's line of the overview.
pub type Line = (Option<Run>, JobState);

/// The shared cache (one per open database).
#[derive(Default)]
pub(super) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Writes to runs counted so far.
    writes: u64,
    /// The jobs asked for last, and their lines.
    kept: Option<(Vec<String>, Arc<Vec<Line>>)>,
}

impl Cache {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while it was held can at worst have lost an update; drop
        // what is kept then, it is read again.
        self.inner.lock().unwrap_or_else(|poisoned| {
            let mut inner = poisoned.into_inner();
            inner.kept = None;
            inner
        })
    }

    /// After a committed write: `run` is now the newest of its job, and
    /// `state` (when given) is what the job remembers.
    pub(super) fn wrote(&self, run: &Run, state: Option<&JobState>) {
        let mut inner = self.lock();
        inner.writes += 1;
        let Some((jobs, lines)) = inner.kept.as_mut() else {
            return;
        };
        let Some(i) = jobs.iter().position(|j| *j == run.job) else {
            return;
        };
        let line = &mut Arc::make_mut(lines)[i];
        if line.0.as_ref().is_none_or(|r| r.id <= run.id) {
            line.0 = Some(run.clone());
        }
        if let Some(state) = state {
            line.1 = state.clone();
        }
    }
}

impl StoreReader {
    /// Writes to runs since the store was opened.
    pub fn run_writes(&self) -> u64 {
        self.cache.lock().writes
    }

    /// The newest run (also one still running) and the remembered state
    /// of each of `jobs`, in order.
    pub fn overview<S: AsRef<str>>(&self, jobs: &[S]) -> Result<Arc<Vec<Line>>, StoreError> {
        let writes = {
            let inner = self.cache.lock();
            if let Some((kept, lines)) = &inner.kept {
                let same =
                    kept.len() == jobs.len() && kept.iter().zip(jobs).all(|(a, b)| a == b.as_ref());
                if same {
                    return Ok(lines.clone());
                }
            }
            inner.writes
        };
        let lines = Arc::new(self.read_overview(jobs)?);
        let mut inner = self.cache.lock();
        if inner.writes == writes {
            let names = jobs.iter().map(|j| j.as_ref().to_owned()).collect();
            inner.kept = Some((names, lines.clone()));
        }
        Ok(lines)
    }

    fn read_overview<S: AsRef<str>>(&self, jobs: &[S]) -> Result<Vec<Line>, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let index = tx.open_table(JOB_RUNS).map_err(db)?;
        let runs = tx.open_table(RUNS).map_err(db)?;
        let states = tx.open_table(JOB_STATE).map_err(db)?;
        let mut out = Vec::with_capacity(jobs.len());
        for job in jobs {
            let job = job.as_ref();
            let newest = index
                .range((job, 0)..=(job, u64::MAX))
                .map_err(db)?
                .next_back()
                .transpose()
                .map_err(db)?;
            let run = match newest {
                Some((k, _)) => match runs.get(k.value().1).map_err(db)? {
                    Some(v) => Some(decode("run", v.value())?),
                    None => None,
                },
                None => None,
            };
            let state = match states.get(job).map_err(db)? {
                Some(v) => decode("job state", v.value())?,
                None => JobState::default(),
            };
            out.push((run, state));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::model::RunStatus;
    use crate::store::runs::tests::run;
    use crate::store::{Retention, Store};

    #[test]
    fn writes_keep_the_kept_overview_equal_to_a_fresh_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let reader = store.reader();
        let jobs = ["a", "b"];
        assert_eq!(
            *reader.overview(&jobs).unwrap(),
            vec![Default::default(); 2]
        );
        let mut r = store.start_run(run("a"), None).unwrap().unwrap();
        let kept = reader.overview(&jobs).unwrap();
        assert_eq!(
            kept[0].0.as_ref().map(|r| r.status),
            Some(RunStatus::Running)
        );
        r.status = RunStatus::Failed;
        r.finished_at = Some(chrono::Utc::now());
        store
            .finish_run(&r, Retention::default(), b"", &[])
            .unwrap();
        store
            .start_runs(vec![(run("b"), Some(chrono::Utc::now()))])
            .unwrap();
        let kept = reader.overview(&jobs).unwrap();
        assert_eq!(kept[0].1.consecutive_failures, 1);
        assert_eq!(kept[0].1.recent.len(), 1);
        assert!(kept[1].1.last_fire.is_some());
        assert_eq!(*kept, reader.read_overview(&jobs).unwrap());
        // Another set of jobs is read afresh and kept instead.
        assert_eq!(reader.overview(&["b"]).unwrap()[0], kept[1]);
    }
}

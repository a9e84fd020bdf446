//! Chains: a job with `after: [a, b]` runs when every job it names has
//! succeeded since its own last run — a barrier, checked each time one of
//! them ends. A predecessor that ends any other way records the dependent
//! as `skipped`, with the reason naming it, so the chain's history shows
//! why it stopped.

use super::Scheduler;
use crate::model::{Job, Run, RunStatus, Trigger};
use crate::reconcile::audit;

impl Scheduler {
    /// After `last` (the final attempt of a run) ended: fires or skips the
    /// jobs whose `after` names its job.
    pub(super) async fn chain(&mut self, last: &Run) {
        let Some(applied) = self.current.clone() else {
            return;
        };
        let dependents: Vec<Job> = applied
            .desired
            .jobs
            .iter()
            .filter(|j| j.after.contains(&last.job))
            .cloned()
            .collect();
        for job in dependents {
            if last.status != RunStatus::Succeeded {
                let how = serde_json::to_value(last.status)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
                    .unwrap_or_default();
                let reason = format!("after: job {} ended {how} (run #{})", last.job, last.id);
                self.record_skip(&job, None, Trigger::After, reason).await;
                continue;
            }
            if self.barrier_met(&job).await {
                let _ = self.fire(&job.name, None, Trigger::After).await;
            }
        }
    }

    /// True when every job of `job.after` has a success that ended after
    /// `job`'s newest run was recorded (or `job` never ran).
    async fn barrier_met(&self, job: &Job) -> bool {
        let (name, after) = (job.name.clone(), job.after.clone());
        let met = audit::logged(&self.store, "cannot read runs for `after`", move |s| {
            let reader = s.reader();
            let since = reader
                .runs(Some(&name), None, 1, None)?
                .first()
                .and_then(|r| r.started_at.or(r.finished_at));
            for p in &after {
                let ok = reader.runs(Some(p), Some(RunStatus::Succeeded), 1, None)?;
                let ended = ok.first().and_then(|r| r.finished_at);
                match (ended, since) {
                    (None, _) => return Ok(false),
                    (Some(e), Some(s)) if e <= s => return Ok(false),
                    _ => {}
                }
            }
            Ok(true)
        });
        met.await.unwrap_or(false)
    }
}

//! Stack jobs: container actions requested by the scheduler, run between
//! passes, recorded as holds (a stopped or paused service stays so), and
//! followed by a pass whose changes go into the job's log.

use super::hosts::{Act, Hosts};
use super::{StackRequest, Stacks, StacksError};
use crate::model::StackAction;
use crate::plan::Hold;
use crate::reconcile::queue::Reason;
use std::collections::BTreeSet;

impl<H: Hosts> Stacks<H> {
    /// Runs a stack job's action, updates holds, and reconciles. The answer
    /// goes back to the job's run even when the job's task is gone (the
    /// send is allowed to fail: nobody waits any more).
    pub(super) async fn action(&mut self, req: StackRequest) {
        tracing::debug!(job = %req.job, stack = %req.stack, action = ?req.action, "stack job");
        let answer = self.act(&req).await;
        tracing::debug!(job = %req.job, ok = answer.is_ok(), "stack job done");
        let _ = req.reply.send(answer);
    }

    /// Carries out a stack job: the action on the engine, the holds it
    /// sets or releases, then a pass; the log lines or why it failed.
    async fn act(&mut self, req: &StackRequest) -> Result<Vec<String>, StacksError> {
        let app = self.applied.borrow().clone().ok_or(StacksError::NoCommit)?;
        let stack = app
            .desired
            .stacks
            .iter()
            .find(|s| s.name == req.stack)
            .ok_or_else(|| StacksError::NoStack(req.stack.clone()))?;
        let host = app
            .desired
            .hosts
            .get(&stack.host)
            .ok_or_else(|| StacksError::NoHost(stack.host.clone()))?;
        let services: Vec<String> = if req.services.is_empty() {
            stack.services.keys().cloned().collect()
        } else {
            req.services.clone()
        };
        let images: Vec<String> = services
            .iter()
            .filter_map(|s| stack.services.get(s))
            .map(|s| s.image.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let act = Act {
            stack: req.stack.clone(),
            services: req.services.clone(),
            action: req.action,
            images,
        };
        let mut log = self.hosts.act(&stack.host, host, act).await?;
        self.update_holds(req, &services);
        self.holds.retain(|_, h| !h.is_empty());
        let holds = crate::reconcile::keys::STACK_HOLDS.with(&self.holds);
        self.save(vec![holds]).await;
        let before = self.last.get(&req.stack).map(|l| l.at);
        self.pass(&BTreeSet::from([Reason::StackJob])).await;
        if let Some(l) = self.last.get(&req.stack).filter(|l| Some(l.at) != before) {
            for c in &l.changes {
                let action = crate::model::word(&c.action);
                log.push(format!("reconcile: {action} {}: {}", c.target, c.reason));
            }
            if !l.errors.is_empty() {
                return Err(StacksError::Reconcile {
                    log: log.join("\n"),
                    errors: l.errors.join("; "),
                });
            }
        }
        Ok(log)
    }

    /// Records what the job's action means for `services`: stop and pause
    /// hold them (the planner leaves them so), the others release them.
    /// A hold names the job that set it, and it is stored, so it lasts
    /// across restarts until a job releases it.
    fn update_holds(&mut self, req: &StackRequest, services: &[String]) {
        let holds = self.holds.entry(req.stack.clone()).or_default();
        for s in services {
            match req.action {
                StackAction::Stop => {
                    holds.insert(
                        s.clone(),
                        Hold {
                            paused: false,
                            by: req.job.clone(),
                        },
                    );
                }
                StackAction::Pause => {
                    holds.insert(
                        s.clone(),
                        Hold {
                            paused: true,
                            by: req.job.clone(),
                        },
                    );
                }
                StackAction::Start | StackAction::Restart | StackAction::Unpause => {
                    holds.remove(s);
                }
                StackAction::Update => {}
            }
        }
    }
}

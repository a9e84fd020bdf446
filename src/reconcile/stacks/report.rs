//! What the controller tells the audit log: each stack's apply (with its
//! steps) and last plan, hosts going away and coming back, stacks turning
//! degraded and back in sync.
//!
//! Every message says why: the change and its reason ("new commit 1a2b3c4:
//! image nginx:1 → nginx:2", "drift: container stopped outside tend"), so
//! the audit log answers "what changed and why" without reading code. Each
//! state change is told once — a host going away, a stack turning degraded
//! — and its end once, so an alert rule hears of a problem and of its fix
//! and nothing in between.

use super::hosts::Hosts;
use super::pass::{self, Observation};
use super::{Stacks, heal};
use crate::model::AuditKind;
use crate::plan;
use crate::plan::view::{self, StackStatus};
use crate::reconcile::audit::record;
use serde_json::json;

impl<H: Hosts> Stacks<H> {
    /// Records each stack's apply as an event and as its last plan: a
    /// `stack-applied` event when every step worked, an `apply-failed` one
    /// (with the steps' errors) when one did not, and the stack is shown
    /// degraded with why.
    pub(super) async fn record_results(&mut self, results: &[pass::Outcome], commit: &str) {
        for r in results {
            let errors: Vec<String> = r.steps.iter().filter_map(|s| s.error.clone()).collect();
            let changes: Vec<plan::Change> = r.steps.iter().map(|s| s.change.clone()).collect();
            let summary: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {}: {}", c.action.describe().1, c.target, c.reason))
                .collect();
            let details = json!({"host": r.host, "steps": r.steps});
            if errors.is_empty() {
                self.failed.remove(&r.stack);
                let reason = format!("stack {}: {}", r.stack, summary.join("; "));
                self.event(
                    AuditKind::StackApplied,
                    Some(&r.stack),
                    commit,
                    reason,
                    details,
                )
                .await;
            } else {
                let reason = format!("stack {}: {}", r.stack, errors.join("; "));
                self.failed.insert(
                    r.stack.clone(),
                    format!("apply failed: {}", errors.join("; ")),
                );
                self.event(
                    AuditKind::ApplyFailed,
                    Some(&r.stack),
                    commit,
                    reason,
                    details,
                )
                .await;
            }
            self.last
                .insert(r.stack.clone(), view::last_plan(commit, &changes, errors));
        }
        if !results.is_empty() {
            self.save(vec![
                crate::reconcile::keys::STACKS_LAST_PLAN.with(&self.last),
            ])
            .await;
        }
    }
    /// Tells hosts that became unreachable and those that came back.
    pub(super) async fn hosts_changed(&mut self, obs: &Observation, commit: &str) {
        for (name, seen) in &obs.hosts {
            match seen {
                Err(e) if self.unreachable.insert(name.clone()) => {
                    tracing::warn!(host = %name, cause = %e, "docker host unreachable");
                    let reason = format!("docker host {name}: {e}");
                    self.event(
                        AuditKind::HostUnreachable,
                        None,
                        commit,
                        reason,
                        json!(null),
                    )
                    .await;
                }
                Ok(_) if self.unreachable.remove(name) => {
                    let reason = format!("docker host {name} answers again");
                    self.event(AuditKind::HostRecovered, None, commit, reason, json!(null))
                        .await;
                }
                _ => {}
            }
        }
    }
    /// Writes an event when a stack turns degraded (a container failing or
    /// unhealthy with nothing left to change) and when it is in sync again.
    pub(super) async fn tell_health(&mut self, stacks: &[StackStatus], commit: &str) {
        for s in stacks {
            let known = self.degraded_told.contains(&s.name);
            if s.sync == plan::Sync::Degraded && !known {
                self.degraded_told.insert(s.name.clone());
                let why = s.error.clone().unwrap_or_default();
                let reason = format!("stack {}: {why}", s.name);
                self.event(
                    AuditKind::Degraded,
                    Some(&s.name),
                    commit,
                    reason,
                    json!({"services": s.services}),
                )
                .await;
            } else if s.sync == plan::Sync::Synced && known {
                self.degraded_told.remove(&s.name);
                let reason = format!("stack {} is in sync again", s.name);
                self.event(
                    AuditKind::StackRecovered,
                    Some(&s.name),
                    commit,
                    reason,
                    json!(null),
                )
                .await;
            }
        }
    }
    /// Tells drift left alone (self-heal off) and stacks the brake holds.
    pub(super) async fn tell_drift(
        &mut self,
        decisions: &[heal::Decision],
        plan: &plan::Plan,
        commit: &str,
    ) {
        for d in decisions {
            match d {
                heal::Decision::Tell(stack, first) => {
                    let changes = plan.stacks.iter().find(|s| &s.stack == stack);
                    let changes = changes.map(|s| &s.changes);
                    let reason = format!("stack {stack}: {first} (self_heal is off)");
                    let details = json!({ "changes": changes });
                    self.event(AuditKind::Drift, Some(stack), commit, reason, details)
                        .await;
                }
                heal::Decision::Degraded(stack, why, first) => {
                    self.degraded_told.insert(stack.clone());
                    let reason = format!("stack {stack}: {why}");
                    let details = json!({ "last_drift": first });
                    self.event(AuditKind::Degraded, Some(stack), commit, reason, details)
                        .await;
                }
                heal::Decision::Heal(_) => {}
            }
        }
    }

    /// Records an event about `stack` (or a host, without one) with the
    /// alerts it causes, in one store write; a failure to store it is
    /// logged and the pass goes on.
    pub(super) async fn event(
        &self,
        kind: AuditKind,
        stack: Option<&str>,
        commit: &str,
        reason: String,
        details: serde_json::Value,
    ) {
        let letters = match (&self.mail, stack) {
            (Some(mail), Some(_)) => mail.event(kind, stack, Some(commit), &reason),
            _ => Vec::new(),
        };
        record(
            &self.store,
            kind,
            Some(commit),
            reason,
            details,
            vec![],
            letters,
        )
        .await;
    }
}

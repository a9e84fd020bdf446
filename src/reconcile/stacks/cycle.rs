//! One pass of the daemon's stacks controller, as the module's docs list
//! its steps: observe, decide drift, plan, apply, record, observe again,
//! remember, publish. Split from the controller's loop so each reads on
//! its own.
//!
//! Drift is decided on a plan that heals all of it (the brake must see
//! every drift to count it); the decision then holds the drift it leaves
//! alone apart (`plan::hold_drift`, what `Heal::Only` plans), so the
//! plan's `changes` are exactly what the pass carries out and records.

use super::hosts::Hosts;
use super::pass::{self, Observation};
use super::{HOST_RETRY, Stacks, heal};
use crate::model::Applied;
use crate::plan::view::{self, StackStatus};
use crate::plan::{self, Plan};
use crate::reconcile::queue::Reason;
use std::collections::BTreeSet;

impl<H: Hosts> Stacks<H> {
    /// One pass: observe, plan, heal what the brake allows, apply, record,
    /// observe again after changes, publish the view and tell health.
    pub(super) async fn pass(&mut self, reasons: &BTreeSet<Reason>) {
        let Some(app) = self.applied.borrow().clone() else {
            return;
        };
        if app.desired.stacks.is_empty() && self.hosts_seen.is_empty() {
            self.view.send_replace(Vec::new());
            return;
        }
        // A new commit or the interval: a full pass (also the upgrade check).
        let full = self.commit.as_deref() != Some(app.commit.as_str())
            || reasons.contains(&Reason::Interval);
        if full {
            self.brake.reset();
            self.failed.clear();
            self.commit = Some(app.commit.clone());
        }
        self.remember_remove_data(&app.desired).await;
        let obs = self.observe(&app).await;
        let obs = if full && self.migrate_binds(&obs).await {
            self.observe(&app).await
        } else {
            obs
        };
        self.hosts_changed(&obs, &app.commit).await;
        self.retry = if obs.hosts.values().any(Result::is_err) {
            self.unreachable_passes += 1;
            Some(HOST_RETRY.delay(self.unreachable_passes - 1))
        } else {
            self.unreachable_passes = 0;
            None
        };
        self.follow_events(&obs);
        // Drift is decided on the plan that heals all of it; the plan
        // applied and shown then holds what is not healed apart.
        let mut plan = self.plan(&obs, &app, plan::Heal::All);
        let decisions = heal::decide(
            &plan,
            app.desired.settings.self_heal,
            &mut self.brake,
            &mut self.drift_told,
            tokio::time::Instant::now().into_std(),
        );
        self.tell_drift(&decisions, &plan, &app.commit).await;
        let allowed = heal::healed(&decisions);
        plan::hold_drift(&mut plan, &allowed);
        let results = pass::apply(&self.hosts, &plan, &obs, &app.commit).await;
        self.record_results(&results, &app.commit).await;
        self.removed(&results, &app.desired, &app.commit).await;
        let (obs, plan) = if results.is_empty() {
            (obs, plan)
        } else {
            let obs = self.observe(&app).await;
            let plan = self.plan(&obs, &app, plan::Heal::Only(&allowed));
            (obs, plan)
        };
        self.remember(&obs).await;
        let mut overrides = self.brake.held().clone();
        overrides.extend(self.failed.clone());
        self.next_wake = plan::next_wake(&obs.targets, self.clock.now());
        let v = view::view(
            &plan,
            &obs.targets,
            &obs.hosts,
            &overrides,
            &self.last,
            &app.commit,
        );
        self.tell_health(&v, &app.commit).await;
        let old = self.view.send_replace(v);
        self.announce(&old);
    }

    /// A notice per stack whose sync or last plan differs from `old` (what
    /// the status page's live updates follow).
    fn announce(&self, old: &[StackStatus]) {
        for s in self.view.borrow().iter() {
            let before = old.iter().find(|o| o.name == s.name);
            let same = before.is_some_and(|o| o.sync == s.sync && o.last_plan == s.last_plan);
            if !same {
                self.observers
                    .hub
                    .publish(crate::live::Notice::StackChanged {
                        stack: s.name.clone(),
                        sync: crate::model::word(&s.sync),
                    });
            }
        }
    }

    /// Renders the commit's stacks and observes every host concerned: the
    /// stacks' hosts, the hosts declared by name, and the hosts that held
    /// managed containers before.
    async fn observe(&mut self, app: &Applied) -> Observation {
        pass::observe_all(
            &app.desired,
            &app.dir,
            &app.commit,
            &mut self.hosts,
            &self.hosts_seen,
            &mut self.layout,
        )
        .await
    }

    /// The plan from `obs` with the controller's holds and deployed set, at
    /// the controller's clock's now (sleep windows are decided by it),
    /// healing the drift of `heal`.
    fn plan(&self, obs: &Observation, app: &Applied, heal: plan::Heal) -> Plan {
        let known = pass::Known {
            holds: &self.holds,
            deployed: &self.deployed,
            heal,
        };
        pass::plan(
            obs,
            &app.commit,
            &app.desired.settings,
            self.clock.now(),
            &known,
        )
    }
}

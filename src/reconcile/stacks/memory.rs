//! What the stacks controller remembers across passes and restarts: which
//! services it deployed (a missing container of one is drift, not a new
//! service) and which hosts held managed containers, kept in the store.
//!
//! Both are written only when they change, so an in-sync pass writes
//! nothing. A host that cannot be observed keeps its place among the hosts
//! seen: its leftovers are pruned once it answers again, not forgotten.

use super::Stacks;
use super::hosts::Hosts;
use super::pass::Observation;
use crate::reconcile::keys;
use crate::store::Store;
use std::collections::BTreeSet;

impl<H: Hosts> Stacks<H> {
    /// Records which services exist and which hosts hold managed containers.
    pub(super) async fn remember(&mut self, obs: &Observation) {
        // Services deployed before stay known while they are desired, so a
        // container removed by hand is drift, not a new service.
        let mut deployed: BTreeSet<(String, String)> = self
            .deployed
            .iter()
            .filter(|(st, sv)| {
                obs.targets
                    .iter()
                    .any(|t| &t.name == st && t.services.contains_key(sv))
            })
            .cloned()
            .collect();
        let mut hosts = BTreeSet::new();
        for (name, h) in obs
            .hosts
            .iter()
            .filter_map(|(n, h)| Some((n, h.as_ref().ok()?)))
        {
            if !h.containers.is_empty() {
                hosts.insert(name.clone());
            }
            for c in &h.containers {
                if obs
                    .targets
                    .iter()
                    .any(|t| t.name == c.project && t.services.contains_key(&c.service))
                {
                    deployed.insert((c.project.clone(), c.service.clone()));
                }
            }
        }
        hosts.extend(
            self.unreachable
                .iter()
                .filter(|h| self.hosts_seen.contains(*h))
                .cloned(),
        );
        if deployed == self.deployed && hosts == self.hosts_seen {
            return;
        }
        self.deployed = deployed;
        self.hosts_seen = hosts;
        let meta = vec![
            keys::STACKS_DEPLOYED.with(&self.deployed),
            keys::STACK_HOSTS.with(&self.hosts_seen),
        ];
        self.save(meta).await;
    }

    /// Writes `meta` values (a failure is logged, the pass goes on).
    pub(super) async fn save(&self, meta: Vec<(&'static str, serde_json::Value)>) {
        let set = move |s: Store| s.set_meta(&meta);
        crate::reconcile::audit::logged(&self.store, "cannot store stack state", set).await;
    }
}

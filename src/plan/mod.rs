//! `plan(targets, observed, context) -> Plan`: what to change on the Docker
//! hosts so they match the commit in force, each change with its reason.
//! Pure — no I/O, `now` is an argument — so `tend plan`, the API, the store
//! and the executor all see the same value, and an in-sync world gives an
//! empty plan.

mod build;
mod env;
mod hash;
pub mod render;
mod service;
mod show;
pub mod view;

pub use crate::model::{
    Action, Change, ContainerSeen, Health, HostState, NetworkSeen, Plan, RunState, ServiceTarget,
    StackPlan, Sync, Target, container_name, labels,
};
pub use build::{hold_drift, plan};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What the planner knows besides targets and observations.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The commit in force (short ids appear in reasons).
    pub commit: &'a str,
    /// `[reconcile].prune`.
    pub prune: bool,
    /// Now, for sleep windows.
    pub now: DateTime<Utc>,
    /// Services held stopped or paused by a job.
    pub holds: &'a Holds,
    /// `(stack, service)` pairs tend deployed before: a missing container
    /// of one of these is drift, not a new service.
    pub deployed: &'a BTreeSet<(String, String)>,
    /// Whose drift this plan heals; the drift of the other stacks is
    /// `held`, not among their changes.
    pub heal: Heal<'a>,
}

/// Whose drift a plan heals.
#[derive(Debug, Clone, Copy)]
pub enum Heal<'a> {
    /// Every stack's (`tend apply`, and the daemon's look before it
    /// decides).
    All,
    /// Only these stacks' (the daemon: self-heal on and the brake allowing).
    Only(&'a BTreeSet<String>),
}

/// Services a job stopped or paused: stack → service → hold.
pub type Holds = BTreeMap<String, BTreeMap<String, Hold>>;

/// A service kept stopped or paused by a job until a start job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Hold {
    /// `true` for paused, `false` for stopped.
    pub paused: bool,
    /// The job that did it.
    pub by: String,
}

/// The next time a sleep window opens or closes, after `now`.
pub fn next_wake(targets: &[Target], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    targets
        .iter()
        .filter_map(|t| t.sleep.as_ref())
        .flat_map(|w| [w.from.next_after(now), w.to.next_after(now)])
        .flatten()
        .map(|t| t.with_timezone(&Utc))
        .min()
}

/// Whether `now` is inside the window: the next boundary is its end.
pub fn asleep(window: &crate::model::SleepWindow, now: DateTime<Utc>) -> bool {
    match (window.from.next_after(now), window.to.next_after(now)) {
        (Some(from), Some(to)) => to < from,
        _ => false,
    }
}

#[cfg(test)]
mod tests;

//! The `meta` values the controllers keep in the store, each with its type
//! (see `store::Key`): the commit in force and the last rejected one (the
//! commits controller), holds, deployed services, hosts, last plans and
//! `remove_data` per stack (the stacks controller).
//!
//! Each key names its value's type once, here, so a value is written and
//! read back as the same type everywhere; a value that no longer reads
//! (an older layout) reads as absent and the controller starts from empty
//! for it, never fails to start.

use crate::plan::Holds;
use crate::plan::view::LastPlan;
use crate::store::Key;
use std::collections::{BTreeMap, BTreeSet};

/// The commit in force.
pub const APPLIED_COMMIT: Key<String> = Key::new("applied_commit");
/// Its subject line.
pub const APPLIED_SUMMARY: Key<String> = Key::new("applied_summary");
/// Its tree id.
pub const APPLIED_TREE: Key<String> = Key::new("applied_tree");
/// When the commit in force was validated (it is validated as of then on
/// a restart).
pub const APPLIED_AT: Key<chrono::DateTime<chrono::Utc>> = Key::new("applied_at");
/// The newest commit that failed validation.
pub const REJECTED_COMMIT: Key<String> = Key::new("rejected_commit");
/// Services held stopped or paused by stack jobs.
pub const STACK_HOLDS: Key<Holds> = Key::new("stack_holds");
/// `(stack, service)` pairs tend deployed.
pub const STACKS_DEPLOYED: Key<BTreeSet<(String, String)>> = Key::new("stacks_deployed");
/// Hosts that held managed containers.
pub const STACK_HOSTS: Key<BTreeSet<String>> = Key::new("stack_hosts");
/// Each stack's last applied plan.
pub const STACKS_LAST_PLAN: Key<BTreeMap<String, LastPlan>> = Key::new("stacks_last_plan");
/// Each stack's `remove_data`, as the last commit that had it said.
pub const STACKS_REMOVE_DATA: Key<BTreeMap<String, bool>> = Key::new("stacks_remove_data");

//! What the stacks controller asks of the Docker hosts, as one trait: look
//! at a host, carry out a stack's changes on it, follow its events, run a
//! stack job's action, and the few calls of the bind-copy upgrade and of
//! removing a stack's data. The daemon and the CLI use [`Engines`] (real
//! engines over the Docker API); the controller's unit tests use a fake
//! host that keeps its containers in memory, so every decision of a pass
//! can be tested without Docker and under paused time.
//!
//! [`Engines`]: super::engines::Engines

use super::StacksError;
use crate::docker::apply::Step;
use crate::model::{Host, HostState, Observed, StackAction};
use crate::plan::{Change, StackPlan, Target};
use crate::reconcile::queue::Queue;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A future that owns what it needs (it runs on its own task).
pub type Owned<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One host to look at: its name, how to reach it, and the images its
/// stacks name (their ids are looked up).
pub struct Look {
    /// Host name in `tend.toml`.
    pub name: String,
    /// How to reach its engine.
    pub host: Host,
    /// Image references to look up.
    pub images: BTreeSet<String>,
}

/// One stack's engine changes, with what they are planned from.
pub struct Work {
    /// The stack's plan, without its working-directory changes.
    pub plan: StackPlan,
    /// The stack as rendered (`None` for a leftover stack).
    pub target: Option<Target>,
    /// The host as observed before the plan.
    pub seen: HostState,
    /// The commit in force (recorded on what is created).
    pub commit: String,
}

/// A stack job's action on one host.
pub struct Act {
    /// The stack.
    pub stack: String,
    /// The services the job names; empty means all.
    pub services: Vec<String>,
    /// What to do.
    pub action: StackAction,
    /// The images of the services concerned.
    pub images: Vec<String>,
}

/// The Docker hosts, as the stacks controller sees them.
pub trait Hosts: Send + Sync + 'static {
    /// Observes each host of `looks` (each with its own time limit); a host
    /// that fails is forgotten until it answers again.
    fn observe(&mut self, looks: Vec<Look>)
    -> impl Future<Output = Vec<(String, Observed)>> + Send;

    /// Carries out `work` on `host` (observed on this pass), one step per
    /// change.
    fn apply(&self, host: &str, work: Work) -> Owned<Vec<Step>>;

    /// Places the tracked files of `target` on `host`, an engine reached
    /// only through its API (one step per file change).
    fn place_remote(
        &self,
        host: &str,
        target: Target,
        work: super::work::StackWork,
        files: Vec<Change>,
    ) -> Owned<Vec<Step>>;

    /// Follows the drift events of `host` from now on: each one requests a
    /// pass on `queue`. Called once per host.
    fn follow(&mut self, host: &str, queue: Arc<Queue>);

    /// Runs a stack job's `act` on `host` (reached as `spec` says); the
    /// log lines.
    fn act(
        &mut self,
        host: &str,
        spec: &Host,
        act: Act,
    ) -> impl Future<Output = Result<Vec<String>, StacksError>> + Send;

    /// Removes the named volumes of `project` on `host`; their names.
    fn remove_volumes(
        &self,
        host: &str,
        project: &str,
    ) -> impl Future<Output = Result<Vec<String>, StacksError>> + Send;

    /// Whether container `id` on `host` runs, and its bind mounts
    /// (source, destination).
    fn mounts(
        &self,
        host: &str,
        id: &str,
    ) -> impl Future<Output = Result<(bool, Vec<(String, String)>), StacksError>> + Send;

    /// Stops container `id` on `host`.
    fn stop(&self, host: &str, id: &str) -> impl Future<Output = Result<(), StacksError>> + Send;
}

/// Each change of `changes` failed with `error`.
pub fn failed(changes: Vec<Change>, error: &str) -> Vec<Step> {
    changes
        .into_iter()
        .map(|change| Step {
            change,
            error: Some(error.to_owned()),
            output: Vec::new(),
        })
        .collect()
}

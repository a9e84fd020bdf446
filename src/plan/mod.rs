//! `plan(targets, observed, context) -> Plan`: what to change on the Docker
//! hosts so they match the commit in force, each change with its reason.
//! Pure — no I/O, `now` is an argument — so `tend plan`, the API, the store
//! and the executor all see the same value, and an in-sync world gives an
//! empty plan.

mod build;
mod env;
mod hash;
pub mod observed;
pub mod render;
mod service;
mod show;
pub mod view;

pub use build::{container_name, plan};
pub use observed::{ContainerSeen, Health, HostState, NetworkSeen, RunState};
pub use render::{ServiceTarget, Target};

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Label keys tend reads and writes.
pub mod labels {
    /// Compose project (the stack name).
    pub const PROJECT: &str = "com.docker.compose.project";
    /// Compose service.
    pub const SERVICE: &str = "com.docker.compose.service";
    /// Replica number, from 1.
    pub const NUMBER: &str = "com.docker.compose.container-number";
    /// Compose network key.
    pub const NETWORK: &str = "com.docker.compose.network";
    /// Compose volume key.
    pub const VOLUME: &str = "com.docker.compose.volume";
    /// The project directory (the stack's working directory).
    pub const WORKING_DIR: &str = "com.docker.compose.project.working_dir";
    /// The compose file, in the project directory.
    pub const CONFIG_FILES: &str = "com.docker.compose.project.config_files";
    /// The project's `.env`, when it has one.
    pub const ENVIRONMENT_FILE: &str = "com.docker.compose.project.environment_file";
    /// `true` on everything tend created.
    pub const MANAGED: &str = "tend.managed";
    /// Hash of the container spec.
    pub const HASH: &str = "tend.config-hash";
    /// Field → short hash, `k=v,…`.
    pub const PARTS: &str = "tend.config-parts";
    /// The image reference as written.
    pub const IMAGE: &str = "tend.image";
    /// The restart policy as written.
    pub const RESTART: &str = "tend.restart";
    /// The commit that created it.
    pub const COMMIT: &str = "tend.commit";
}

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

/// Everything to change, per stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// Desired stacks and leftovers of removed ones, sorted by name.
    pub stacks: Vec<StackPlan>,
}

/// The changes of one stack on its host.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackPlan {
    /// Stack name.
    pub stack: String,
    /// Host name.
    pub host: String,
    /// What the stack should be now: `running`, `stopped`, `sleeping`, `absent`.
    pub desired_state: String,
    /// Changes in apply order.
    pub changes: Vec<Change>,
    /// Why the stack cannot be planned (host unreachable, env file missing).
    pub error: Option<String>,
    /// Services with containers that exited with an error or are unhealthy.
    pub failing: Vec<String>,
    /// Not in the repository any more; containers left from an earlier commit.
    pub leftover: bool,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// Service, network or volume name (as in the compose file).
    pub target: String,
    /// Why, in words.
    pub reason: String,
    /// Caused by a change outside tend (self-heal), not by the commit.
    pub drift: bool,
    /// The existing container or network id, when there is one.
    pub id: Option<String>,
    /// Position along `depends_on` (services only).
    pub level: u32,
    /// Which container of a service (`com.docker.compose.container-number`).
    pub replica: u32,
}

/// Kinds of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Create a network.
    CreateNetwork,
    /// Create a named volume.
    CreateVolume,
    /// Create a container and start it.
    Create,
    /// Create a container, leave it stopped.
    CreateStopped,
    /// Replace a container (stop, remove, create, start).
    Recreate,
    /// Replace a container, leave the new one stopped.
    RecreateStopped,
    /// Start a stopped container.
    Start,
    /// Stop a running container.
    Stop,
    /// Pause a running container.
    Pause,
    /// Unpause a paused container.
    Unpause,
    /// Give a container back its name.
    Rename,
    /// Stop and remove a container.
    Remove,
    /// Remove a network.
    RemoveNetwork,
    /// Write a tracked file into the working directory (new or changed in git).
    PlaceFile,
    /// Write a tracked file back over a copy changed on the host (drift).
    RestoreFile,
    /// Delete a file removed from git (only if unchanged since placed).
    RemoveFile,
    /// Create a missing bind source as a folder, as compose does.
    CreateFolder,
}

impl Action {
    /// Whether the action changes the working directory, not the engine.
    pub fn is_file(self) -> bool {
        self.file_kind().is_some()
    }

    /// The working-directory change this action carries out, if it is one.
    pub fn file_kind(self) -> Option<crate::model::FileKind> {
        use crate::model::FileKind;
        Some(match self {
            Action::PlaceFile => FileKind::Place,
            Action::RestoreFile => FileKind::Restore,
            Action::RemoveFile => FileKind::Remove,
            Action::CreateFolder => FileKind::CreateFolder,
            _ => return None,
        })
    }

    /// The action that carries out a working-directory change.
    pub fn for_file(kind: crate::model::FileKind) -> Action {
        use crate::model::FileKind;
        match kind {
            FileKind::Place => Action::PlaceFile,
            FileKind::Restore => Action::RestoreFile,
            FileKind::Remove => Action::RemoveFile,
            FileKind::CreateFolder => Action::CreateFolder,
        }
    }
}

impl Action {
    /// Whether the action leaves a service's container running.
    pub fn starts(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Recreate | Action::Start | Action::Unpause
        )
    }
}

/// Sync verdict of a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sync {
    /// Matches the commit in force.
    Synced,
    /// Changes pending.
    OutOfSync,
    /// Applied, but a container exited or is unhealthy, or self-heal gave up.
    Degraded,
    /// The host could not be observed.
    Unknown,
}

impl StackPlan {
    /// The verdict this plan alone supports.
    pub fn sync(&self) -> Sync {
        if self.error.is_some() {
            Sync::Unknown
        } else if !self.changes.is_empty() {
            Sync::OutOfSync
        } else if !self.failing.is_empty() {
            Sync::Degraded
        } else {
            Sync::Synced
        }
    }
}

impl Plan {
    /// Number of changes over all stacks.
    pub fn len(&self) -> usize {
        self.stacks.iter().map(|s| s.changes.len()).sum()
    }

    /// Whether nothing is to change.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether any stack could not be planned.
    pub fn has_errors(&self) -> bool {
        self.stacks.iter().any(|s| s.error.is_some())
    }
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

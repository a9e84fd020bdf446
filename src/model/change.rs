//! A plan's vocabulary: per stack, the changes that bring its host in line
//! with the commit, each with its action, target and reason, and the sync
//! verdict a plan supports. `plan` makes them, `docker` carries them out,
//! the store and the page show them.

use serde::{Deserialize, Serialize};

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
    /// Changes in apply order: exactly what a pass carries out.
    pub changes: Vec<Change>,
    /// Drift left alone on this pass (self-heal is off, or the brake holds
    /// the stack): shown, told, not applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<Change>,
    /// Why the stack cannot be planned (host unreachable, env file missing).
    pub error: Option<String>,
    /// Services with containers that exited with an error or are unhealthy.
    pub failing: Vec<String>,
    /// Not in the repository any more; containers left from an earlier commit.
    pub leftover: bool,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What to do.
    pub action: Action,
    /// Service, network or volume name (as in the compose file).
    pub target: String,
    /// Why, in words.
    pub reason: String,
    /// Caused by a change outside tend (self-heal), not by the commit.
    #[serde(default)]
    pub drift: bool,
    /// The existing container or network id, when there is one.
    #[serde(default)]
    pub id: Option<String>,
    /// Position along `depends_on` (services only).
    #[serde(default)]
    pub level: u32,
    /// Which container of a service (`com.docker.compose.container-number`).
    #[serde(default = "first")]
    pub replica: u32,
}

/// The replica a change without one is about (plans stored before replicas).
fn first() -> u32 {
    1
}

impl Change {
    /// A change of `target` (replica 1, no id, level 0).
    pub fn new(action: Action, target: &str, reason: String, drift: bool) -> Change {
        Change {
            action,
            target: target.to_owned(),
            reason,
            drift,
            id: None,
            level: 0,
            replica: 1,
        }
    }

    /// The change, about the existing object `id`.
    pub fn with_id(mut self, id: &str) -> Change {
        self.id = Some(id.to_owned());
        self
    }
}

/// Kinds of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    pub fn file_kind(self) -> Option<super::FileKind> {
        use super::FileKind;
        Some(match self {
            Action::PlaceFile => FileKind::Place,
            Action::RestoreFile => FileKind::Restore,
            Action::RemoveFile => FileKind::Remove,
            Action::CreateFolder => FileKind::CreateFolder,
            _ => return None,
        })
    }

    /// The action that carries out a working-directory change.
    pub fn for_file(kind: super::FileKind) -> Action {
        use super::FileKind;
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
        } else if !self.changes.is_empty() || !self.held.is_empty() {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_stored_before_replicas_still_reads() {
        // As `stacks_last_plan` held it before `replica` (and with no id).
        let old = r#"{"action":"recreate","target":"web","reason":"image changed","drift":false,"level":1}"#;
        let c: Change = serde_json::from_str(old).unwrap();
        assert_eq!(
            (c.action, c.replica, c.id.clone(), c.level),
            (Action::Recreate, 1, None, 1)
        );
        let again: Change = serde_json::from_value(serde_json::to_value(&c).unwrap()).unwrap();
        assert_eq!(again, c);
    }
}

//! What a Docker host looks like, as far as tend cares ("Actual"): the
//! containers, networks and volumes carrying tend's labels, the ids of the
//! images the desired stacks name, the label keys and container names tend
//! uses. Filled by `docker::observe`, read by `plan`.

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

/// The default name of a service's first container: `<stack>-<service>-1`.
pub fn container_name(stack: &str, service: &str) -> String {
    format!("{stack}-{service}-1")
}

/// Whether `condition` on a dependency is met by its observed container.
pub fn condition_met(
    condition: super::DependCondition,
    state: RunState,
    health: Health,
    exit: Option<i64>,
) -> bool {
    match condition {
        super::DependCondition::ServiceStarted => state == RunState::Running,
        super::DependCondition::ServiceHealthy => {
            state == RunState::Running && health != Health::Unhealthy && health != Health::Starting
        }
        super::DependCondition::ServiceCompletedSuccessfully => {
            state == RunState::Exited && exit == Some(0)
        }
    }
}

/// Why a host could not be observed (its stacks are `unknown`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unobserved {
    /// A stack names a host that `tend.toml` does not declare.
    #[error("host {0} is not declared")]
    NotDeclared(String),
    /// The engine could not be reached.
    #[error("cannot reach {docker}: {cause}")]
    Unreachable {
        /// The host's engine address.
        docker: String,
        /// What the connection said.
        cause: String,
    },
    /// The engine did not answer in time.
    #[error("observing took longer than {0}s")]
    Timeout(u64),
    /// The engine answered with an error.
    #[error("{0}")]
    Engine(String),
}

/// One host as observed, or why not.
pub type Observed = Result<HostState, Unobserved>;

/// The observed state of one host.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostState {
    /// Containers labelled `tend.managed=true`.
    pub containers: Vec<ContainerSeen>,
    /// Networks labelled with a compose project.
    pub networks: Vec<NetworkSeen>,
    /// Names of the volumes that exist.
    pub volumes: BTreeSet<String>,
    /// Image reference → image id, for the references present locally.
    pub images: BTreeMap<String, String>,
    /// Names of containers tend did not create (never touched).
    pub foreign: BTreeSet<String>,
    /// Image references the engine refused to look up, with its answer:
    /// only the stacks that name them fail.
    pub image_errors: BTreeMap<String, String>,
}

/// One managed container.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSeen {
    /// Container id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// `com.docker.compose.project`.
    pub project: String,
    /// `com.docker.compose.service`.
    pub service: String,
    /// `com.docker.compose.container-number`.
    pub number: u32,
    /// `tend.config-hash`.
    pub hash: String,
    /// `tend.config-parts`: field → short hash.
    pub parts: BTreeMap<String, String>,
    /// The image reference it was created from.
    pub image: String,
    /// The image id it runs.
    pub image_id: String,
    /// Run state.
    pub state: RunState,
    /// Exit code, when exited.
    pub exit_code: Option<i64>,
    /// Health, when the container has a health check.
    pub health: Health,
    /// The restart policy it was created with (from the labels).
    pub restart: String,
}

/// A container's run state, as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted by its restart policy.
    Restarting,
    /// Exited.
    Exited,
    /// Being removed.
    Removing,
    /// Dead (failed removal).
    Dead,
}

impl RunState {
    /// Parses the engine's word; unknown words count as `Dead`.
    pub fn parse(word: &str) -> RunState {
        match word {
            "created" => RunState::Created,
            "running" => RunState::Running,
            "paused" => RunState::Paused,
            "restarting" => RunState::Restarting,
            "exited" => RunState::Exited,
            "removing" => RunState::Removing,
            _ => RunState::Dead,
        }
    }

    /// Whether the main process is up (running, paused or restarting).
    pub fn is_up(self) -> bool {
        matches!(
            self,
            RunState::Running | RunState::Paused | RunState::Restarting
        )
    }
}

/// A container's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Health {
    /// No health check.
    #[default]
    None,
    /// Within the start period or before the first check.
    Starting,
    /// The check passes.
    Healthy,
    /// The check fails.
    Unhealthy,
}

impl Health {
    /// Reads the health from the engine's status text (`Up 3s (healthy)`).
    pub fn from_status(status: &str) -> Health {
        if status.contains("(healthy)") {
            Health::Healthy
        } else if status.contains("(unhealthy)") {
            Health::Unhealthy
        } else if status.contains("(health: starting)") {
            Health::Starting
        } else {
            Health::None
        }
    }
}

/// A network created for a compose project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkSeen {
    /// Network id.
    pub id: String,
    /// Full name (`<project>_<network>`).
    pub name: String,
    /// `com.docker.compose.project`.
    pub project: String,
    /// Whether tend created it (`tend.managed=true`).
    pub managed: bool,
}

/// Reads the exit code from the engine's status text (`Exited (137) 2s ago`).
pub fn exit_code_from_status(status: &str) -> Option<i64> {
    let rest = status.strip_prefix("Exited (")?;
    rest.split(')').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words() {
        assert_eq!(
            Health::from_status("Up 3 seconds (healthy)"),
            Health::Healthy
        );
        assert_eq!(
            Health::from_status("Up 1s (health: starting)"),
            Health::Starting
        );
        assert_eq!(Health::from_status("Up 2 hours"), Health::None);
        assert_eq!(
            exit_code_from_status("Exited (137) 5 seconds ago"),
            Some(137)
        );
        assert_eq!(exit_code_from_status("Up 5 seconds"), None);
        assert_eq!(RunState::parse("weird"), RunState::Dead);
    }
}

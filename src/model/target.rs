//! A stack made concrete for one host: each service's container spec with
//! its environment resolved, its hash per field and how its relative binds
//! reach the container. `plan::render` builds these; `plan` compares them
//! with what hosts run, and `docker` creates containers from them.

use crate::model::{Resource, Service, SleepWindow, Stack, StackState};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One stack as tend would deploy it.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Stack (compose project) name.
    pub name: String,
    /// Host name.
    pub host: String,
    /// `x-tend.state`.
    pub state: StackState,
    /// `x-tend.sleep`.
    pub sleep: Option<SleepWindow>,
    /// Services by name.
    pub services: BTreeMap<String, ServiceTarget>,
    /// Declared networks.
    pub networks: BTreeMap<String, Resource>,
    /// Declared named volumes.
    pub volumes: BTreeMap<String, Resource>,
    /// Why the stack could not be rendered (an env file is unreadable…).
    pub error: Option<String>,
    /// Relative bind sources of its services, normalised (`config`, `""`
    /// for the folder itself), sorted and unique.
    pub binds: Vec<String>,
    /// Changes its working directory needs (tracked files, missing bind
    /// sources), as observed; they are applied before its services.
    pub files: Vec<crate::model::FileChange>,
    /// Its working directory (compose's project directory), when known.
    pub workdir: Option<PathBuf>,
    /// The compose file's name in its folder.
    pub compose_file: String,
}

impl Target {
    /// The container name of `service` (`container_name`, else
    /// `<stack>-<service>-1`), also for a service it does not know.
    pub fn container_of(&self, service: &str) -> String {
        self.services.get(service).map_or_else(
            || super::container_name(&self.name, service),
            |s| s.container(&self.name, service),
        )
    }

    /// The network `key` as declared, or an undeclared one (`default`).
    pub fn network(&self, key: &str) -> &Resource {
        self.networks.get(key).unwrap_or(&crate::model::UNDECLARED)
    }

    /// The named volume `key` as declared, or an undeclared one.
    pub fn volume(&self, key: &str) -> &Resource {
        self.volumes.get(key).unwrap_or(&crate::model::UNDECLARED)
    }
}

/// Where a relative bind source is mounted from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    /// How it reaches the container.
    pub mount: BoundAs,
    /// Digest of the tracked files under it, when tend places them: a
    /// change of content recreates the services that mount it.
    pub files: Option<String>,
}

/// How a relative bind source reaches the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundAs {
    /// A bind of this host path (tend and the engine share a file system).
    Path(PathBuf),
    /// A named volume of the stack (this key), filled by tend through the
    /// Engine API: a folder on a remote engine.
    Volume(String),
    /// A single tracked file on a remote engine (its content here): copied
    /// into the container at its target path before the first start.
    CopyIn(PathBuf),
}

/// Why a relative bind source cannot be resolved (its stack's error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unbound(pub String);

/// Resolves a stack's relative bind source (normalised, inside its folder).
pub type BindFn<'a> = dyn Fn(&Stack, &str) -> Result<Bound, Unbound> + 'a;

/// One service as tend would create it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTarget {
    /// The normalised spec (bind sources made absolute).
    pub spec: Service,
    /// Resolved environment, `KEY=VALUE`, sorted.
    pub env: Vec<String>,
    /// Hash of the whole container spec (`tend.config-hash`).
    pub hash: String,
    /// Field → short hash (`tend.config-parts`).
    pub parts: BTreeMap<String, String>,
    /// Position along `depends_on`: 0 needs nothing, 1 needs level 0, …
    pub level: u32,
    /// Its relative bind sources, normalised.
    pub binds: Vec<String>,
    /// Tracked files copied into the container before its first start:
    /// (path in the container, the file's content on tend's side).
    pub copy_in: Vec<(String, PathBuf)>,
    /// Host-secret values in `env`: shown as `***` wherever `env` is shown.
    pub secrets: Vec<String>,
    /// What its image is built from, for a service with `build`.
    pub build: Option<BuildTarget>,
}

/// What a service's image is built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildTarget {
    /// The context folder on this machine (inside the commit's snapshot).
    pub context: PathBuf,
    /// Digest of the context's files and the build settings.
    pub digest: String,
}

impl ServiceTarget {
    /// Its container's name: `container_name`, else `<stack>-<service>-1`.
    pub fn container(&self, stack: &str, service: &str) -> String {
        self.container_n(stack, service, 1)
    }

    /// The name of container `number` of the service.
    pub fn container_n(&self, stack: &str, service: &str, number: u32) -> String {
        match &self.spec.options.container_name {
            Some(name) if number == 1 => name.clone(),
            _ => format!("{stack}-{service}-{number}"),
        }
    }

    /// Whether `name` is what [`Self::container_n`] gives (without building it).
    pub fn is_named(&self, name: &str, stack: &str, service: &str, number: u32) -> bool {
        match &self.spec.options.container_name {
            Some(own) if number == 1 => own == name,
            _ => name
                .strip_prefix(stack)
                .and_then(|r| r.strip_prefix('-'))
                .and_then(|r| r.strip_prefix(service))
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|n| n.parse() == Ok(number) && !n.starts_with(['0', '+'])),
        }
    }

    /// The container this target makes, as observation would report it
    /// running: what an in-sync host shows (tests and benchmarks build
    /// hosts from it).
    pub fn as_running(&self, stack: &str, service: &str) -> super::ContainerSeen {
        super::ContainerSeen {
            id: format!("{stack}-{service}"),
            name: self.container(stack, service),
            project: stack.to_owned(),
            service: service.to_owned(),
            number: 1,
            hash: self.hash.clone(),
            parts: self.parts.clone(),
            image: self.spec.image.clone(),
            image_id: format!("sha256:{}", self.spec.image),
            state: super::RunState::Running,
            exit_code: None,
            health: super::Health::None,
            restart: self.spec.restart.clone(),
        }
    }
}

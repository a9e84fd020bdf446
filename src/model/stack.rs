//! Stack domain types: a compose-format stack after validation and
//! normalisation (short forms expanded, defaults filled, maps sorted), so
//! that two files meaning the same thing produce equal values.

use super::StackState;
use crate::schedule::Schedule;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// One stack: `stacks/<name>/compose.yaml` and its `x-tend` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    /// Folder name, used as the compose project name.
    pub name: String,
    /// Docker host it runs on.
    pub host: String,
    /// Whether it should exist and run.
    pub state: StackState,
    /// A daily window in which the stack is stopped.
    pub sleep: Option<SleepWindow>,
    /// Services by name.
    pub services: BTreeMap<String, Service>,
    /// Networks the stack declares, by name.
    pub networks: BTreeMap<String, Resource>,
    /// Named volumes the stack declares, by name.
    pub volumes: BTreeMap<String, Resource>,
    /// The compose file, relative to the repository root.
    pub file: PathBuf,
    /// Tracked files (or folders) the app owns once placed
    /// (`x-tend.host_owned`), relative to the stack folder.
    pub host_owned: Vec<String>,
    /// Remove the working directory and named volumes when the stack is
    /// removed from git (`x-tend.remove_data`).
    pub remove_data: bool,
    /// Stack variables holding a host secret: name → its `${env:…}` /
    /// `${file:…}` reference, resolved when the stack is rendered on its
    /// host (the services' environment holds placeholders until then).
    pub secrets: BTreeMap<String, String>,
}

/// The stack is stopped from `from` until the next `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct SleepWindow {
    /// When sleep starts.
    pub from: Schedule,
    /// When sleep ends.
    pub to: Schedule,
}

/// A top-level network or volume.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Resource {
    /// Driver name; `None` is the engine default.
    pub driver: Option<String>,
    /// Managed outside the stack: must exist, never created or removed.
    pub external: bool,
    /// `name:`: the engine's name for it, instead of `<stack>_<key>`.
    pub name: Option<String>,
    /// `driver_opts`.
    pub driver_opts: BTreeMap<String, String>,
    /// `labels`.
    pub labels: BTreeMap<String, String>,
    /// Networks: `internal`.
    pub internal: bool,
    /// Networks: `attachable`.
    pub attachable: bool,
    /// Networks: `enable_ipv6`.
    pub enable_ipv6: bool,
    /// Networks: `ipam.driver`.
    pub ipam_driver: Option<String>,
    /// Networks: `ipam.config` as (subnet, gateway, ip_range).
    pub subnets: Vec<(Option<String>, Option<String>, Option<String>)>,
}

/// A network or volume a stack uses without declaring it (`default`).
pub static UNDECLARED: Resource = Resource {
    driver: None,
    external: false,
    name: None,
    driver_opts: BTreeMap::new(),
    labels: BTreeMap::new(),
    internal: false,
    attachable: false,
    enable_ipv6: false,
    ipam_driver: None,
    subnets: Vec::new(),
};

impl Resource {
    /// The engine's name of the resource `key` of stack `project`:
    /// `name:` when set, else the key itself for an external one, else
    /// `<project>_<key>`.
    pub fn full_name(&self, project: &str, key: &str) -> String {
        match &self.name {
            Some(n) => n.clone(),
            None if self.external => key.to_owned(),
            None => format!("{project}_{key}"),
        }
    }
}

/// One service of a stack, normalised.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Service {
    /// Image reference (for a built service: the tag it is built as).
    pub image: String,
    /// How to build the image, when the service is built.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<Box<super::Build>>,
    /// Command, split into arguments; `None` keeps the image's.
    pub command: Option<Vec<String>>,
    /// Entrypoint, split into arguments; `None` keeps the image's.
    pub entrypoint: Option<Vec<String>>,
    /// Environment; a `None` value (`- KEY` set in none of the stack's
    /// variables) leaves the variable unset in the container.
    pub environment: BTreeMap<String, Option<String>>,
    /// Env files, read at deploy time.
    pub env_file: Vec<EnvFile>,
    /// Published ports.
    pub ports: Vec<PortMapping>,
    /// Bind mounts and named volumes.
    pub volumes: Vec<Mount>,
    /// Restart policy (`no`, `always`, `on-failure[:N]`, `unless-stopped`).
    pub restart: String,
    /// Labels set on the container.
    pub labels: BTreeMap<String, String>,
    /// Services that must be up first, with the condition to wait for.
    pub depends_on: BTreeMap<String, DependCondition>,
    /// Health check, if the service sets or disables one.
    pub healthcheck: Option<Healthcheck>,
    /// Networks joined, with DNS aliases.
    pub networks: BTreeMap<String, Vec<String>>,
    /// User (`uid[:gid]` or name).
    pub user: Option<String>,
    /// Working directory inside the container.
    pub working_dir: Option<String>,
    /// Run an init process as PID 1.
    pub init: bool,
    /// Time between SIGTERM and SIGKILL on stop.
    pub stop_grace_period: Option<Duration>,
    /// Everything else the container gets (names, capabilities, devices,
    /// resources, logging, …).
    pub options: Box<super::ContainerOptions>,
    /// Files copied into the container before it starts (secrets from
    /// `environment`, configs from `content`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inject: Vec<super::Inject>,
    /// Commands run in the container once it has started.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub post_start: Vec<super::Hook>,
    /// Commands run in the container before tend stops or removes it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_stop: Vec<super::Hook>,
    /// Containers to run (`deploy.replicas`/`scale`); `None` is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Files besides the stack's compose file the service was read from
    /// (`include`d, `extends` bases), for the reasons of a plan; not part
    /// of the container.
    #[serde(skip)]
    pub sources: Vec<String>,
}

impl Service {
    /// How many containers the service runs.
    pub fn replica_count(&self) -> u32 {
        self.replicas.unwrap_or(1)
    }
}

/// One `env_file` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvFile {
    /// The file, relative to the repository root.
    pub path: PathBuf,
    /// `required: false`: a missing file is skipped.
    #[serde(skip_serializing_if = "Clone::clone")]
    pub required: bool,
    /// `format: raw`: each line `KEY=VALUE` taken literally (no quotes,
    /// no interpolation).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
}

/// When a dependency counts as ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependCondition {
    /// The container has started.
    ServiceStarted,
    /// The container reports healthy.
    ServiceHealthy,
    /// The container ran to completion with exit code 0.
    ServiceCompletedSuccessfully,
}

/// A published port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortMapping {
    /// Host address to bind; `None` is all addresses.
    pub host_ip: Option<String>,
    /// Host port or range; `None` lets the engine pick.
    pub published: Option<String>,
    /// Container port.
    pub target: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// A mount into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// `bind` (host path) or `volume` (named volume).
    pub kind: MountKind,
    /// Host path or volume name.
    pub source: String,
    /// Path inside the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
    /// Further options, comma-separated as a bind's mode: SELinux `z`/`Z`,
    /// propagation (`rshared`, …), `nocopy` for a volume; a tmpfs's
    /// `size=BYTES`/`mode=OCTAL`. Empty for most mounts (and then left out
    /// of the config hash).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub options: String,
}

/// Kind of a [`Mount`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MountKind {
    /// A host path.
    Bind,
    /// A named volume.
    Volume,
    /// A tmpfs (long syntax `type: tmpfs`).
    Tmpfs,
}

/// A container health check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Healthcheck {
    /// Test command in Docker's form (`["CMD", …]`, `["CMD-SHELL", …]` or `["NONE"]`).
    pub test: Vec<String>,
    /// Time between checks.
    pub interval: Option<Duration>,
    /// Time limit of one check.
    pub timeout: Option<Duration>,
    /// Failures before unhealthy.
    pub retries: Option<u32>,
    /// Grace period after start.
    pub start_period: Option<Duration>,
}

/// One change to a working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// What to do.
    pub kind: FileKind,
    /// The file or folder, relative to the stack folder.
    pub path: String,
    /// Why, in words.
    pub reason: String,
}

/// Kinds of [`FileChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// Write git's content (new or changed in git).
    Place,
    /// Write git's content over a copy changed on the host (drift).
    Restore,
    /// Delete a file removed from git, if unchanged since placed.
    Remove,
    /// Create a missing bind source as a folder.
    CreateFolder,
}

/// `rel` (relative to a folder, `./` optional) normalised to `a/b`, or
/// `None` when it is absolute or leaves the folder; `""` is the folder.
pub fn inside_folder(rel: &str) -> Option<String> {
    if rel.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in rel.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Whether `path` is `prefix` or inside it (`""` holds everything).
pub fn under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|r| r.starts_with('/'))
}

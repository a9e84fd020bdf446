//! Desired stacks made concrete: each service's environment resolved (env
//! files, values taken from tend's host) and its container spec hashed.
//!
//! The hash covers everything that goes into the container (not
//! `depends_on`, which only orders the apply), per field, so a plan can say
//! *which* fields changed. File and environment access come in as closures:
//! the module stays pure and unit-testable.

use crate::model::{DependCondition, Resource, Service, SleepWindow, Stack, StackState};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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

/// Resolves a stack's relative bind source (normalised, inside its folder).
pub type BindFn<'a> = dyn Fn(&Stack, &str) -> Result<Bound, String> + 'a;

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

/// Renders every stack; a stack whose files cannot be read gets an `error`.
pub fn render_all(
    stacks: &[Stack],
    root: &Path,
    read: &dyn Fn(&Path) -> Result<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    bind: &BindFn,
) -> Vec<Target> {
    stacks
        .iter()
        .map(|s| render(s, root, read, env, bind))
        .collect()
}

/// Renders one stack; `root` is the snapshot folder of the commit. `bind`
/// turns a relative bind source into the path to mount: the daemon gives
/// the stack's persistent working directory (a commit changes only the
/// tracked files in it), `tend apply` the folder itself, as compose does.
pub fn render(
    stack: &Stack,
    root: &Path,
    read: &dyn Fn(&Path) -> Result<String, String>,
    env: &dyn Fn(&str) -> Option<String>,
    bind: &BindFn,
) -> Target {
    let mut error = None;
    let mut binds = std::collections::BTreeSet::new();
    let mut volumes = stack.volumes.clone();
    let levels = levels(&stack.services);
    let mut services = BTreeMap::new();
    for (name, spec) in &stack.services {
        let mut vars = super::env::gather(name, spec, root, read, &mut error);
        let mut spec = spec.clone();
        if let Some(x) = spec
            .options
            .network_mode
            .as_deref()
            .and_then(|m| m.strip_prefix("service:"))
        {
            let other = stack
                .services
                .get(x)
                .and_then(|s| s.options.container_name.clone());
            let other = other.unwrap_or_else(|| super::container_name(&stack.name, x));
            spec.options.network_mode = Some(format!("container:{other}"));
        }
        let mut files = Vec::new();
        let mut copy_in = Vec::new();
        for m in &mut spec.volumes {
            match absolute_source(stack, &m.source, env, bind) {
                Ok((source, rel, digest)) => {
                    match source {
                        BoundAs::Path(p) => m.source = p.display().to_string(),
                        BoundAs::Volume(key) => {
                            m.kind = crate::model::MountKind::Volume;
                            volumes.entry(key.clone()).or_default();
                            m.source = key;
                        }
                        BoundAs::CopyIn(from) => {
                            copy_in.push((m.target.clone(), from));
                            m.source.clear();
                        }
                    }
                    binds.extend(rel.clone());
                    files.extend(digest.map(|d| (rel.unwrap_or_default(), d)));
                }
                Err(e) => {
                    error.get_or_insert(format!("service {name}: volume {}: {e}", m.source));
                }
            }
        }
        spec.volumes
            .retain(|m| !(m.kind == crate::model::MountKind::Bind && m.source.is_empty()));
        // Hashed with the placeholders: a secret's own part says it changed.
        let mut parts = super::hash::parts(&spec, &super::env::listed(&vars));
        let from = crate::model::secret::Sources { env, read };
        let values = vars
            .iter_mut()
            .filter_map(|(k, v)| Some((format!("environment {k}"), v.as_mut()?)))
            .chain(
                spec.inject
                    .iter_mut()
                    .map(|i| (i.name.clone(), &mut i.content)),
            );
        let filled = super::env::fill_secrets(values, &stack.secrets, &from, &mut parts);
        for i in &spec.inject {
            // A copied-in text is its own part: a change names it, never shows it.
            parts.insert(
                i.name.clone(),
                super::hash::short(&format!(
                    "{}\n{}\n{:o}:{}:{}",
                    i.target, i.content, i.mode, i.uid, i.gid
                )),
            );
        }
        let secrets = match filled {
            Ok(found) => found,
            Err(e) => {
                error.get_or_insert(format!("service {name}: {e}"));
                Vec::new()
            }
        };
        let env = super::env::listed(&vars);
        if !files.is_empty() {
            files.sort();
            parts.insert(
                "files".into(),
                super::hash::short(&serde_json::to_string(&files).unwrap_or_default()),
            );
        }
        let hash = super::hash::hash_of(&parts);
        let level = levels.get(name.as_str()).copied().unwrap_or(0);
        services.insert(
            name.clone(),
            ServiceTarget {
                spec,
                env,
                hash,
                parts,
                level,
                binds: files.into_iter().map(|(rel, _)| rel).collect(),
                copy_in,
                secrets,
                build: None,
            },
        );
    }
    Target {
        name: stack.name.clone(),
        host: stack.host.clone(),
        state: stack.state,
        sleep: stack.sleep.clone(),
        services,
        networks: stack.networks.clone(),
        volumes,
        error,
        binds: binds.into_iter().collect(),
        files: Vec::new(),
        workdir: None,
        compose_file: stack
            .file
            .file_name()
            .map_or_else(String::new, |f| f.to_string_lossy().into_owned()),
    }
}

/// What to mount, the relative bind source (normalised) and the digest of
/// its tracked files: `./x` is relative to the stack's working directory,
/// `~/x` to tend's home, anything else as written.
fn absolute_source(
    stack: &Stack,
    source: &str,
    env: &dyn Fn(&str) -> Option<String>,
    bind: &BindFn,
) -> Result<(BoundAs, Option<String>, Option<String>), String> {
    if let Some(rest) = source.strip_prefix("~/") {
        let home = env("HOME").unwrap_or_else(|| "/root".into());
        return Ok((BoundAs::Path(PathBuf::from(home).join(rest)), None, None));
    }
    if source.starts_with('.') {
        let rel = crate::model::inside_folder(source)
            .ok_or_else(|| "leaves the stack folder".to_owned())?;
        let b = bind(stack, &rel)?;
        return Ok((b.mount, Some(rel), b.files));
    }
    Ok((BoundAs::Path(PathBuf::from(source)), None, None))
}

/// Depth of each service along `depends_on` (cycles were rejected by config).
fn levels(services: &BTreeMap<String, Service>) -> BTreeMap<&str, u32> {
    let mut level: BTreeMap<&str, u32> = services.keys().map(|k| (k.as_str(), 0)).collect();
    for _ in 0..services.len() {
        let mut changed = false;
        for (name, s) in services {
            let need = s
                .depends_on
                .keys()
                .filter_map(|d| level.get(d.as_str()).map(|l| l + 1))
                .max()
                .unwrap_or(0);
            if need > level[name.as_str()] {
                level.insert(name, need);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    level
}

/// Whether `condition` on a dependency is met by its observed container.
pub fn condition_met(
    condition: DependCondition,
    state: super::RunState,
    health: super::Health,
    exit: Option<i64>,
) -> bool {
    use super::{Health, RunState};
    match condition {
        DependCondition::ServiceStarted => state == RunState::Running,
        DependCondition::ServiceHealthy => {
            state == RunState::Running && health != Health::Unhealthy && health != Health::Starting
        }
        DependCondition::ServiceCompletedSuccessfully => {
            state == RunState::Exited && exit == Some(0)
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;

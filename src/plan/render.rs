//! Desired stacks made concrete: each service's environment resolved (env
//! files, values taken from tend's host) and its container spec hashed.
//!
//! The hash covers everything that goes into the container (not
//! `depends_on`, which only orders the apply), per field, so a plan can say
//! *which* fields changed. File and environment access come in as closures:
//! the module stays pure and unit-testable.

use crate::model::secret::Sources;
pub use crate::model::{BindFn, Bound, BoundAs, BuildTarget, ServiceTarget, Target};
use crate::model::{Service, Stack};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Renders every stack; a stack whose files cannot be read gets an `error`.
pub fn render_all(stacks: &[Stack], root: &Path, from: &Sources, bind: &BindFn) -> Vec<Target> {
    stacks.iter().map(|s| render(s, root, from, bind)).collect()
}

/// Renders one stack; `root` is the snapshot folder of the commit. `bind`
/// turns a relative bind source into the path to mount: the daemon gives
/// the stack's persistent working directory (a commit changes only the
/// tracked files in it), `tend apply` the folder itself, as compose does.
pub fn render(stack: &Stack, root: &Path, from: &Sources, bind: &BindFn) -> Target {
    let env = from.env;
    let mut error = None;
    let mut binds = std::collections::BTreeSet::new();
    let mut volumes = stack.volumes.clone();
    let levels = levels(&stack.services);
    let mut services = BTreeMap::new();
    for (name, spec) in &stack.services {
        let mut refs = stack.secrets.clone();
        let mut vars = super::env::gather(name, spec, (root, from.read), &mut refs, &mut error);
        let mut spec = spec.clone();
        shared_network(stack, &mut spec);
        let mounts = Mounts {
            stack,
            env,
            bind,
            volumes: &mut volumes,
            binds: &mut binds,
        };
        let (mut files, copy_in) = mounts.resolve(name, &mut spec, &mut error);
        spec.volumes
            .retain(|m| !(m.kind == crate::model::MountKind::Bind && m.source.is_empty()));
        let (mut parts, secrets) = parts_and_secrets(&mut spec, &mut vars, (&refs, root), from);
        if let Some(e) = secrets.as_ref().err() {
            error.get_or_insert(format!("service {name}: {e}"));
        }
        let secrets = secrets.unwrap_or_default();
        let env = super::env::listed(&vars);
        if !files.is_empty() {
            files.sort();
            let digest = serde_json::to_string(&files).unwrap_or_default();
            parts.insert("files".into(), super::hash::short(&digest));
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

/// `network_mode: service:X` as the engine takes it: `container:<X's
/// container name>`.
fn shared_network(stack: &Stack, spec: &mut crate::model::Service) {
    let Some(x) = spec
        .options
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
    else {
        return;
    };
    let other = stack
        .services
        .get(x)
        .and_then(|s| s.options.container_name.clone());
    let other = other.unwrap_or_else(|| super::container_name(&stack.name, x));
    spec.options.network_mode = Some(format!("container:{other}"));
}

/// Single files to copy into a container: (path inside, file here).
type CopyIn = Vec<(String, PathBuf)>;

/// Where a service's relative binds are resolved: the stack, the
/// environment (for `~/`), the bind resolver, and what resolving adds to
/// the stack (volumes for remote working directories, relative sources).
struct Mounts<'a, 'b> {
    stack: &'a Stack,
    env: &'a dyn Fn(&str) -> Option<String>,
    bind: &'a BindFn<'b>,
    volumes: &'a mut BTreeMap<String, crate::model::Resource>,
    binds: &'a mut std::collections::BTreeSet<String>,
}

impl Mounts<'_, '_> {
    /// Resolves each volume of `spec` in place; returns the digests of the
    /// tracked files under its relative binds and the single files to copy
    /// in. A source that cannot be resolved is the stack's `error`.
    fn resolve(
        self,
        name: &str,
        spec: &mut Service,
        error: &mut Option<String>,
    ) -> (Vec<(String, String)>, CopyIn) {
        let (stack, env, bind, volumes, binds) =
            (self.stack, self.env, self.bind, self.volumes, self.binds);
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
        (files, copy_in)
    }
}

/// The service's hash parts (with secrets as placeholders, so a secret's
/// own part says it changed, and each copied-in text its own part), after
/// filling host secrets into `vars` and the injected texts; the secret
/// values found, or why one is missing.
fn parts_and_secrets(
    spec: &mut Service,
    vars: &mut BTreeMap<String, Option<String>>,
    refs: (&BTreeMap<String, String>, &Path),
    from: &Sources,
) -> (BTreeMap<String, String>, Result<Vec<String>, String>) {
    // Hashed with the placeholders: a secret's own part says it changed.
    let mut parts = super::hash::parts(spec, &super::env::listed(vars));
    let values = vars
        .iter_mut()
        .filter_map(|(k, v)| Some((format!("environment {k}"), v.as_mut()?)))
        .chain(
            spec.inject
                .iter_mut()
                .map(|i| (i.name.clone(), &mut i.content)),
        );
    let filled = super::env::fill_secrets(values, refs, from, &mut parts);
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
    (parts, filled)
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
        let b = bind(stack, &rel).map_err(|e| e.0)?;
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

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;

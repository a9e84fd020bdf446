//! `stacks/<name>/compose.yaml` → [`Stack`]s: the compose subset, the
//! `x-tend` block, and the references inside a stack (dependencies and
//! their cycles, networks, named volumes, env files, the docker host).

use super::compose::{self, ComposeFile};
use super::compose_forms::Errs;
use super::compose_top as top;
use super::node::{Node, Pos, Value};
use super::repo::Want;
use super::{At, Ctx, values};
use crate::model::{Host, Settings, SleepWindow, Stack, StackState};
use std::collections::BTreeMap;
use std::path::PathBuf;

const COMPOSE_NAMES: &[&str] = &["compose.yaml", "compose.yml"];

/// A compose file read and assembled: its node, the stack's variables,
/// the variables holding host secrets, each service's source files.
type Assembled = (
    Node,
    BTreeMap<String, String>,
    BTreeMap<String, String>,
    super::compose_project::Sources,
);

/// Service names each stack folder declares, as far as they could be read,
/// even when the stack itself is invalid (so references to it are not
/// reported twice).
pub(super) type Declared = BTreeMap<String, Vec<String>>;

/// Reads every stack folder and returns the valid stacks, sorted by name,
/// and what every folder declares.
pub(super) fn load_all(
    cx: &mut Ctx,
    settings: &Settings,
    hosts: &BTreeMap<String, Host>,
) -> (Vec<Stack>, Declared) {
    let mut stacks = Vec::new();
    let mut declared = Declared::new();
    for name in cx.repo.list("stacks") {
        let dir = format!("stacks/{name}");
        if !cx.repo.is_dir(&dir) {
            cx.error(
                &dir,
                Pos::START,
                "stacks/ holds one folder per stack, with a compose.yaml in it",
            );
            continue;
        }
        if let Err(e) = values::check_name("stack", &name) {
            cx.error(&dir, Pos::START, e);
        }
        let names = declared.entry(name.clone()).or_default();
        let found: Vec<&str> = COMPOSE_NAMES
            .iter()
            .copied()
            .filter(|f| cx.repo.exists(&format!("{dir}/{f}")))
            .collect();
        let file = match found.as_slice() {
            [one] => format!("{dir}/{one}"),
            [] => {
                cx.error(
                    &dir,
                    Pos::START,
                    format!("stack folder `{dir}` has no compose.yaml"),
                );
                continue;
            }
            _ => {
                cx.error(
                    &dir,
                    Pos::START,
                    "both compose.yaml and compose.yml exist; keep one",
                );
                continue;
            }
        };
        if let Some(stack) = load(cx, &name, &dir, &file, settings, hosts, names) {
            stacks.push(stack);
        }
    }
    unique_container_names(cx, &stacks);
    (stacks, declared)
}

/// Two services with the same `container_name` on one host cannot both exist.
fn unique_container_names(cx: &mut Ctx, stacks: &[Stack]) {
    let mut seen: BTreeMap<(&str, &str), (&str, &str)> = BTreeMap::new();
    for s in stacks {
        for (svc, spec) in &s.services {
            let Some(name) = spec.options.container_name.as_deref() else {
                continue;
            };
            if let Some((other, other_svc)) = seen.insert((&s.host, name), (&s.name, svc)) {
                let file = s.file.display().to_string();
                let pos = cx.position_of(&file, &format!("container_name: {name}"));
                cx.error(
                    &file,
                    pos,
                    format!(
                        "container_name `{name}` of service {svc} is also used by service \
                         {other_svc} of stack {other} on host {}",
                        s.host
                    ),
                );
            }
        }
    }
}

fn load(
    cx: &mut Ctx,
    name: &str,
    dir: &str,
    file: &str,
    settings: &Settings,
    hosts: &BTreeMap<String, Host>,
    names: &mut Vec<String>,
) -> Option<Stack> {
    let (node, vars, mut secrets, sources) = read(cx, dir, file, settings, hosts, names)?;
    let spec: ComposeFile = cx.typed(file, &node)?;
    let sealed = super::sealed::file_sources(cx, dir, &spec, &mut secrets);
    if let Some(n) = spec.name.as_ref().filter(|n| n.value != name) {
        let msg = format!(
            "`name: {}` differs from the folder name `{name}`; the folder name is the project name",
            n.value
        );
        cx.error(file, n.pos, msg);
    }
    let x = spec.x_tend.as_ref();
    let host = x.and_then(|x| x.host.clone());
    if let Some(h) = host.as_ref().filter(|h| !hosts.contains_key(&h.value)) {
        let known: Vec<&str> = hosts.keys().map(String::as_str).collect();
        let msg = super::de::unknown_message("host", h, &known);
        cx.error(
            file,
            h.pos,
            format!("{msg} (hosts are the [hosts.*] tables of tend.toml)"),
        );
    }
    let sleep = x.and_then(|x| x.sleep.as_ref()).and_then(|s| {
        let from = cx.schedule(file, &s.from, settings.timezone);
        let to = cx.schedule(file, &s.to, settings.timezone);
        Some(SleepWindow {
            from: from?,
            to: to?,
        })
    });
    let mut errs = Vec::new();
    let services = services(&spec, dir, (&vars, &sealed), &sources, &mut errs);
    file_sources(cx, file, dir, &spec);
    super::sealed::env_files(cx, &services);
    let stack = Stack {
        name: name.to_owned(),
        host: host.map_or_else(|| super::settings::LOCAL_HOST.to_owned(), |h| h.value),
        state: x.and_then(|x| x.state).unwrap_or(StackState::Running),
        sleep,
        services,
        networks: top::resources(&spec.networks, &mut errs),
        volumes: top::resources(&spec.volumes, &mut errs),
        file: PathBuf::from(file),
        host_owned: top::host_owned(x, &mut errs),
        remove_data: x.and_then(|x| x.remove_data).unwrap_or(false),
        secrets,
    };
    super::stack_refs::references(cx, file, &spec, &stack, names, &mut errs);
    for (pos, message) in errs {
        cx.error(file, pos, message);
    }
    Some(stack)
}

/// A stack's compose file read, interpolated and assembled (`include`,
/// `extends`, overrides): the node, the stack's variables, their host
/// secrets and each service's source files. Every service name seen goes
/// into `names` (for references across the file). `None` when it failed
/// (the errors are in `cx`).
fn read(
    cx: &mut Ctx,
    dir: &str,
    file: &str,
    settings: &Settings,
    hosts: &BTreeMap<String, Host>,
    names: &mut Vec<String>,
) -> Option<Assembled> {
    let mut node = cx.yaml(file)?;
    service_names(&node, names);
    if node.value == Value::Null {
        cx.error(
            file,
            node.pos,
            "empty compose file: expected a `services:` mapping",
        );
        return None;
    }
    let (vars, secrets) = stack_vars(cx, dir, &node, settings, hosts);
    let mut problems = Vec::new();
    super::interpolate::interpolate(&mut node, &|k| vars.get(k).cloned(), &mut problems);
    super::interpolate::check_secret_placement(&node, &mut problems);
    if !problems.is_empty() {
        for (pos, message) in problems {
            cx.error(file, pos, message);
        }
        return None;
    }
    compose::strip_extensions(&mut node);
    let (node, sources) = super::compose_project::assemble(cx, dir, file, node, &vars)?;
    service_names(&node, names);
    Some((node, vars, secrets, sources))
}

/// Adds the service names of `node` to `names` (once each).
fn service_names(node: &Node, names: &mut Vec<String>) {
    if let Some(Value::Map(services)) = node.get("services").map(|s| &s.value) {
        for k in services.iter().filter_map(|(k, _)| k.as_str()) {
            if !names.iter().any(|n| n == k) {
                names.push(k.to_owned());
            }
        }
    }
}

/// The active services of `spec` (by the profiles `x-tend` enables),
/// normalised, with unset environment values from the stack's variables,
/// their source files, file mounts and dependencies on active services only.
fn services(
    spec: &ComposeFile,
    dir: &str,
    (vars, sealed): (&BTreeMap<String, String>, &compose::SealedFiles),
    sources: &super::compose_project::Sources,
    errs: &mut Errs,
) -> BTreeMap<String, crate::model::Service> {
    let profiles = spec.x_tend.as_ref().and_then(|x| x.profiles.as_ref());
    let enabled: Vec<String> = profiles
        .map(|p| p.iter().map(|a| a.value.clone()).collect())
        .unwrap_or_default();
    let mut services = BTreeMap::new();
    for (n, s) in &spec.services {
        if super::compose_profiles::active(s, &enabled, errs) {
            let mut service = super::compose_service::service(s, n, dir, errs);
            // `- TZ` (no value): from the stack's variables, never from
            // tend's own environment; unset there, it stays unset.
            let args = service.build.iter_mut().flat_map(|b| b.args.iter_mut());
            for (key, value) in service.environment.iter_mut().chain(args) {
                if value.is_none() {
                    value.clone_from(&vars.get(key).cloned());
                }
            }
            service.sources = sources.get(n).cloned().unwrap_or_default();
            services.insert(n.clone(), service);
        }
    }
    for p in profiles.into_iter().flatten() {
        super::compose_profiles::check_profile(p.pos, &p.value, errs);
    }
    super::compose_profiles::disabled_dependencies(spec, &services, errs);
    super::compose::file_mounts(spec, &mut services, (vars, sealed), errs);
    let running: Vec<String> = services.keys().cloned().collect();
    for s in services.values_mut() {
        s.depends_on.retain(|d, _| running.contains(d));
    }
    services
}

/// Checks that the files of top-level `secrets:`/`configs:` exist in the
/// stack folder.
fn file_sources(cx: &mut Ctx, file: &str, dir: &str, spec: &ComposeFile) {
    let files = spec.secrets.values().chain(spec.configs.values());
    for f in files.filter_map(|s| s.value.file.as_ref()) {
        if let Some(value) = crate::model::inside_folder(&format!("{dir}/{}", f.value))
            .filter(|_| !f.value.starts_with('/'))
        {
            let at = At {
                pos: f.pos,
                clean: true,
                value,
            };
            cx.path(file, &at, Want::File);
        }
    }
}

/// The interpolation variables of a stack: its folder's `.env`, then
/// `[vars]`, then `[hosts.NAME.vars]` of its host (later wins). tend's own
/// environment is never read. A `[vars]`/host value holding a host secret
/// interpolates to its placeholder; the second map holds those variables'
/// references, resolved when the stack is rendered on its host.
fn stack_vars(
    cx: &mut Ctx,
    dir: &str,
    node: &super::node::Node,
    settings: &Settings,
    hosts: &BTreeMap<String, Host>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut vars = BTreeMap::new();
    let mut sealed = BTreeMap::new();
    let env_file = format!("{dir}/.env");
    if cx.repo.exists(&env_file)
        && let Some(text) = cx.text(&env_file)
    {
        if let Some((plain, refs)) = super::sealed::env_vars(cx, &env_file, &text) {
            vars.extend(plain);
            sealed = refs;
        } else {
            match super::dotenv::parse(&text) {
                Ok(pairs) => vars.extend(pairs),
                Err((pos, message)) => cx.error(&env_file, pos, message),
            }
        }
    }
    vars.extend(settings.vars.clone());
    let host = node
        .get("x-tend")
        .and_then(|x| x.get("host"))
        .and_then(super::node::Node::as_str)
        .unwrap_or(super::settings::LOCAL_HOST);
    if let Some(h) = hosts.get(host) {
        vars.extend(h.vars.clone());
    }
    // An encrypted `.env` value stays a secret unless `[vars]` or the host's
    // vars set the variable again.
    let mut secrets: BTreeMap<String, String> = sealed
        .into_iter()
        .filter(|(name, _)| vars.get(name) == Some(&crate::model::secret::placeholder(name)))
        .collect();
    for (name, value) in &mut vars {
        if crate::model::secret::is_reference(value) {
            let reference = std::mem::replace(value, crate::model::secret::placeholder(name));
            secrets.insert(name.clone(), reference);
        }
    }
    (vars, secrets)
}

//! `stacks/<name>/compose.yaml` → [`Stack`]s: the compose subset, the
//! `x-tend` block, and the references inside a stack (dependencies and
//! their cycles, networks, named volumes, env files, the docker host).

use super::compose::{self, ComposeFile};
use super::compose_forms as forms;
use super::node::{Pos, Value};
use super::repo::Want;
use super::{At, Ctx, values};
use crate::model::{Host, Resource, Settings, SleepWindow, Stack, StackState};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

const COMPOSE_NAMES: &[&str] = &["compose.yaml", "compose.yml"];

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
    (stacks, declared)
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
    let mut node = cx.yaml(file)?;
    if let Some(Value::Map(services)) = node.get("services").map(|s| &s.value) {
        names.extend(
            services
                .iter()
                .filter_map(|(k, _)| k.as_str().map(str::to_owned)),
        );
    }
    if node.value == Value::Null {
        cx.error(
            file,
            node.pos,
            "empty compose file: expected a `services:` mapping",
        );
        return None;
    }
    compose::strip_extensions(&mut node);
    let spec: ComposeFile = cx.typed(file, &node)?;
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
    let services = spec
        .services
        .iter()
        .map(|(n, s)| (n.clone(), compose::service(s, dir, &mut errs)))
        .collect();
    let stack = Stack {
        name: name.to_owned(),
        host: host.map_or_else(|| super::settings::LOCAL_HOST.to_owned(), |h| h.value),
        state: x.and_then(|x| x.state).unwrap_or(StackState::Running),
        sleep,
        services,
        networks: resources(&spec.networks),
        volumes: resources(&spec.volumes),
        file: PathBuf::from(file),
        host_owned: host_owned(x, &mut errs),
        remove_data: x.and_then(|x| x.remove_data).unwrap_or(false),
    };
    references(cx, file, &spec, &stack, names, &mut errs);
    for (pos, message) in errs {
        cx.error(file, pos, message);
    }
    Some(stack)
}

/// `x-tend.host_owned`: plain relative paths inside the stack folder.
fn host_owned(x: Option<&At<super::raw::XTend>>, errs: &mut forms::Errs) -> Vec<String> {
    let list = x.and_then(|x| x.host_owned.as_ref());
    let mut out = Vec::new();
    for p in list.into_iter().flatten() {
        match forms::inside_folder(p.value.trim_start_matches("./")) {
            Some(rel) if !rel.is_empty() => out.push(rel),
            _ => errs.push((
                p.pos,
                format!(
                    "host_owned entry `{}` must be a path inside the stack folder",
                    p.value
                ),
            )),
        }
    }
    out
}

fn resources(
    specs: &BTreeMap<String, Option<compose::ResourceSpec>>,
) -> BTreeMap<String, Resource> {
    specs
        .iter()
        .map(|(name, spec)| {
            let r = spec.as_ref().map_or_else(Resource::default, |s| Resource {
                driver: s.driver.clone(),
                external: s.external.unwrap_or(false),
            });
            (name.clone(), r)
        })
        .collect()
}

/// Checks what the services of one stack refer to.
fn references(
    cx: &mut Ctx,
    file: &str,
    spec: &ComposeFile,
    stack: &Stack,
    declared: &[String],
    errs: &mut forms::Errs,
) {
    let mut scratch = Vec::new();
    let names: Vec<&str> = declared.iter().map(String::as_str).collect();
    let mut graph: HashMap<&str, Vec<(&str, Pos)>> = HashMap::new();
    for (name, raw) in &spec.services {
        if let Err(e) = values::check_name("service", name) {
            errs.push((raw.pos, e));
        }
        let deps = raw
            .depends_on
            .as_ref()
            .map(|d| forms::depends_on(&d.0, &mut scratch));
        for (dep, (pos, _)) in deps.iter().flatten() {
            match names.iter().find(|n| **n == dep) {
                Some(n) => graph.entry(name).or_default().push((n, *pos)),
                None => errs.push((
                    *pos,
                    format!(
                        "{} (depends_on of `{name}`)",
                        super::de::unknown_message("service", dep, &names)
                    ),
                )),
            }
        }
        let nets = raw
            .networks
            .as_ref()
            .map(|n| forms::service_networks(&n.0, &mut scratch));
        for (net, (pos, _)) in nets.iter().flatten() {
            if net != "default" && !stack.networks.contains_key(net) {
                errs.push((
                    *pos,
                    format!("network `{net}` is not declared under the top-level `networks:`"),
                ));
            }
        }
        let service = &stack.services[name.as_str()];
        for m in service
            .volumes
            .iter()
            .filter(|m| m.kind == crate::model::MountKind::Volume)
        {
            if !m.source.is_empty() && !stack.volumes.contains_key(&m.source) {
                errs.push((raw.pos, format!("named volume `{}` of `{name}` is not declared under the top-level `volumes:`", m.source)));
            }
        }
        for env_file in &service.env_file {
            let at = At {
                pos: raw.pos,
                clean: true,
                value: env_file.to_string_lossy().into_owned(),
            };
            cx.path(file, &at, Want::File);
        }
    }
    if let Some((cycle, pos)) = find_cycle(&graph) {
        errs.push((pos, format!("depends_on cycle: {}", cycle.join(" → "))));
    }
}

/// A dependency cycle, as the names along it, and where it closes.
fn find_cycle<'a>(graph: &HashMap<&'a str, Vec<(&'a str, Pos)>>) -> Option<(Vec<&'a str>, Pos)> {
    fn visit<'a>(
        node: &'a str,
        graph: &HashMap<&'a str, Vec<(&'a str, Pos)>>,
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<(Vec<&'a str>, Pos)> {
        if done.contains(&node) {
            return None;
        }
        path.push(node);
        for (next, pos) in graph.get(node).into_iter().flatten() {
            if let Some(i) = path.iter().position(|p| p == next) {
                let mut cycle = path[i..].to_vec();
                cycle.push(next);
                return Some((cycle, *pos));
            }
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.push(node);
        None
    }
    let mut starts: Vec<&&str> = graph.keys().collect();
    starts.sort();
    let mut done = Vec::new();
    starts
        .into_iter()
        .find_map(|s| visit(s, graph, &mut Vec::new(), &mut done))
}

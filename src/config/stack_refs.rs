//! What the services of one stack refer to, checked against the stack and
//! the commit: dependencies (known, and without cycles), networks and named
//! volumes declared at the top level, build contexts and required env
//! files present in the commit.

use super::compose::{ComposeFile, ServiceSpec};
use super::compose_forms as forms;
use super::node::Pos;
use super::repo::Want;
use super::{At, Ctx, values};
use crate::model::Stack;
use std::collections::HashMap;

/// Checks what the services of one stack refer to.
pub(super) fn references(
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
        for (net, forms::ServiceNet { pos, .. }) in nets.iter().flatten() {
            if net != "default" && !stack.networks.contains_key(net) {
                errs.push((
                    *pos,
                    format!("network `{net}` is not declared under the top-level `networks:`"),
                ));
            }
        }
        // A service of an inactive profile is not in the stack.
        if let Some(service) = stack.services.get(name.as_str()) {
            service_paths(cx, file, name, raw, service, stack, errs);
        }
    }
    if let Some((cycle, pos)) = find_cycle(&graph) {
        errs.push((pos, format!("depends_on cycle: {}", cycle.join(" → "))));
    }
}

/// What service `name` refers to outside its own keys: declared named
/// volumes, its build context and required env files in the commit.
fn service_paths(
    cx: &mut Ctx,
    file: &str,
    name: &str,
    raw: &At<ServiceSpec>,
    service: &crate::model::Service,
    stack: &Stack,
    errs: &mut forms::Errs,
) {
    for m in service
        .volumes
        .iter()
        .filter(|m| m.kind == crate::model::MountKind::Volume)
    {
        if !m.source.is_empty() && !stack.volumes.contains_key(&m.source) {
            errs.push((
                raw.pos,
                format!(
                    "named volume `{}` of `{name}` is not declared under the top-level `volumes:`",
                    m.source
                ),
            ));
        }
    }
    // The context must be in the commit; a missing Dockerfile is the
    // builder's error at apply time (as compose reports it at build),
    // which fails that service and leaves its running container.
    if let Some(b) = &service.build {
        let pos = raw.build.as_ref().map_or(raw.pos, |b| b.0.pos);
        let at = At {
            pos,
            clean: true,
            value: b.context.clone(),
        };
        cx.path(file, &at, Want::FileOrDir);
    }
    let env_pos = raw.env_file.as_ref().map_or(raw.pos, |e| e.0.pos);
    for env_file in service.env_file.iter().filter(|e| e.required) {
        let at = At {
            pos: env_pos,
            clean: true,
            value: env_file.path.to_string_lossy().into_owned(),
        };
        cx.path(file, &at, Want::File);
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

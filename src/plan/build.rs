//! The planner proper: per stack, compare each service's target with the
//! container found for it and say what to do and why.

use super::service::{Want, service_change};
use super::{Action, Change, Context, Plan, StackPlan, asleep};
use crate::model::StackState;
use crate::model::{ContainerSeen, HostState, RunState, Target};
use std::collections::{BTreeMap, BTreeSet};

/// Plans every target against what its host shows, plus the leftovers of
/// stacks no longer in the repository.
pub fn plan(
    targets: &[Target],
    hosts: &BTreeMap<String, crate::model::Observed>,
    cx: &Context,
) -> Plan {
    // Containers by (host, project), so each stack finds its own at once.
    let mut by_project: BTreeMap<(&str, &str), Vec<&ContainerSeen>> = BTreeMap::new();
    for (name, host) in hosts {
        for c in host.iter().flat_map(|h| &h.containers) {
            by_project.entry((name, &c.project)).or_default().push(c);
        }
    }
    let mut stacks: Vec<StackPlan> = targets
        .iter()
        .map(|t| match hosts.get(&t.host) {
            Some(Ok(host)) => {
                let mine = by_project.get(&(t.host.as_str(), t.name.as_str()));
                plan_stack(t, mine.map_or(&[][..], Vec::as_slice), host, cx)
            }
            Some(Err(e)) => unplanned(t, format!("host {}: {e}", t.host)),
            None => unplanned(t, format!("host {} was not observed", t.host)),
        })
        .collect();
    for (host_name, host) in hosts {
        let Ok(host) = host else { continue };
        let wanted: BTreeSet<&str> = targets
            .iter()
            .filter(|t| &t.host == host_name)
            .map(|t| t.name.as_str())
            .collect();
        let mut projects: BTreeSet<&str> =
            host.containers.iter().map(|c| c.project.as_str()).collect();
        projects.extend(
            host.networks
                .iter()
                .filter(|n| n.managed)
                .map(|n| n.project.as_str()),
        );
        for project in projects.into_iter().filter(|p| !wanted.contains(p)) {
            stacks.push(leftover(project, host_name, host, cx.prune));
        }
    }
    stacks.sort_by(|a, b| (&a.stack, &a.host).cmp(&(&b.stack, &b.host)));
    let mut plan = Plan { stacks };
    if let super::Heal::Only(healed) = cx.heal {
        hold_drift(&mut plan, healed);
    }
    plan
}

/// Moves the drift changes of every stack not in `healed` from its changes
/// to its held ones: what [`super::Heal::Only`] plans, applied to a plan
/// made with [`super::Heal::All`] (the daemon decides drift on that one and
/// need not plan twice).
pub fn hold_drift(plan: &mut Plan, healed: &BTreeSet<String>) {
    for sp in plan
        .stacks
        .iter_mut()
        .filter(|sp| !healed.contains(&sp.stack))
    {
        let (held, changes) = std::mem::take(&mut sp.changes)
            .into_iter()
            .partition(|c| c.drift);
        (sp.held, sp.changes) = (held, changes);
    }
}

fn unplanned(t: &Target, error: String) -> StackPlan {
    StackPlan {
        stack: t.name.clone(),
        host: t.host.clone(),
        desired_state: word(t.state).into(),
        changes: Vec::new(),
        error: Some(error),
        failing: Vec::new(),
        leftover: false,
        held: Vec::new(),
    }
}

fn word(state: StackState) -> &'static str {
    match state {
        StackState::Running => "running",
        StackState::Stopped => "stopped",
        StackState::Absent => "absent",
    }
}

/// The plan of one desired stack on its host, from the containers of it
/// found there (`mine`).
fn plan_stack(t: &Target, mine: &[&ContainerSeen], host: &HostState, cx: &Context) -> StackPlan {
    let sleeping = t.sleep.as_ref().is_some_and(|w| asleep(w, cx.now));
    let desired_state = if t.state == StackState::Running && sleeping {
        "sleeping"
    } else {
        word(t.state)
    };
    let mut out = StackPlan {
        stack: t.name.clone(),
        host: t.host.clone(),
        desired_state: desired_state.into(),
        changes: Vec::new(),
        error: t.error.clone(),
        failing: Vec::new(),
        leftover: false,
        held: Vec::new(),
    };
    if t.error.is_some() {
        return out;
    }
    if let Some((image, e)) = t
        .services
        .values()
        .find_map(|s| Some((&s.spec.image, host.image_errors.get(&s.spec.image)?)))
    {
        out.error = Some(format!("image {image}: {e}"));
        return out;
    }
    let absent = t.state == StackState::Absent;
    if !absent && let Some(e) = missing_external(t, host) {
        out.error = Some(e);
        return out;
    }
    if !absent {
        files(t, &mut out.changes);
        resources(t, host, &mut out.changes);
    }
    removed_services(t, mine, cx, &mut out.changes);
    let fresh_stack = mine.is_empty();
    for (name, target) in &t.services {
        let mut found: Vec<&ContainerSeen> = mine
            .iter()
            .copied()
            .filter(|c| &c.service == name)
            .collect();
        found.sort_unstable_by(|a, b| a.number.cmp(&b.number).then_with(|| a.id.cmp(&b.id)));
        let want = want(t, cx, sleeping, name);
        let here = Here {
            stack: t,
            host,
            cx,
            fresh_stack,
        };
        replicas(&here, name, target, &found, &want, &mut out);
    }
    if absent {
        remove_networks(&t.name, host, "x-tend.state is absent", &mut out.changes);
    }
    out.changes.sort_by_key(|c| (phase(c.action), c.level));
    out
}

/// What a service of `t` should be doing now: the stack's state, its
/// sleep window, then holds of stack jobs.
fn want(t: &Target, cx: &Context, sleeping: bool, service: &str) -> Want {
    match t.state {
        StackState::Absent => Want::Absent,
        StackState::Stopped => Want::Stopped("x-tend.state is stopped".into()),
        StackState::Running if sleeping => {
            let w = t.sleep.as_ref().map(|w| (w.from.expr(), w.to.expr()));
            let (from, to) = w.unwrap_or_default();
            Want::Stopped(format!("sleep window (from `{from}` to `{to}`)"))
        }
        StackState::Running => match cx.holds.get(&t.name).and_then(|h| h.get(service)) {
            Some(h) if h.paused => Want::Paused(format!("paused by job {}", h.by)),
            Some(h) => Want::Stopped(format!("stopped by job {}", h.by)),
            None => Want::Running,
        },
    }
}

/// Removals of the containers of services the compose file no longer has.
fn removed_services(t: &Target, mine: &[&ContainerSeen], cx: &Context, out: &mut Vec<Change>) {
    let short = crate::model::short_commit(cx.commit);
    for c in mine.iter().filter(|c| !t.services.contains_key(&c.service)) {
        let reason = format!(
            "service {} is no longer in the compose file (commit {short})",
            c.service
        );
        let remove = Change::new(Action::Remove, &c.service, reason, false);
        out.push(remove.with_id(&c.id));
    }
}

/// Where a service is planned: its stack, the host, the context, and
/// whether the stack has no container yet.
struct Here<'a> {
    stack: &'a Target,
    host: &'a HostState,
    cx: &'a Context<'a>,
    fresh_stack: bool,
}

/// The changes of service `name` replica by replica: containers above the
/// count go (highest first), a duplicate of a number goes, each number gets
/// what it needs; a replica that should run but fails is noted.
fn replicas(
    here: &Here,
    name: &str,
    target: &crate::model::ServiceTarget,
    found: &[&ContainerSeen],
    want: &Want,
    out: &mut StackPlan,
) {
    let count = target.spec.replica_count();
    // Scaled down: the highest numbers go first.
    for extra in found
        .iter()
        .rev()
        .filter(|c| c.number > count || c.number == 0)
    {
        let reason = format!(
            "scaled to {count} replica(s): container {} is not needed",
            extra.name
        );
        let mut ch = Change::new(Action::Remove, name, reason, false).with_id(&extra.id);
        ch.replica = extra.number;
        out.changes.push(ch);
    }
    for number in 1..=count {
        let from = found.partition_point(|c| c.number < number);
        let to = found.partition_point(|c| c.number <= number);
        let of = &found[from..to];
        for extra in of.iter().skip(1) {
            let reason = format!("duplicate container {} of service {name}", extra.name);
            let remove = Change::new(Action::Remove, name, reason, true);
            out.changes.push(remove.with_id(&extra.id));
        }
        let seen = of.first().copied();
        let (t, host, cx) = (here.stack, here.host, here.cx);
        let fresh = here.fresh_stack;
        let mut c = service_change(t, name, number, target, seen, host, cx, want, fresh);
        for ch in &mut c {
            ch.level = target.level;
            ch.replica = number;
        }
        out.changes.extend(c);
        if let Some(seen) = seen
            && failing(seen, want)
            && !out.failing.iter().any(|f| f == name)
        {
            out.failing.push(name.to_owned());
        }
    }
}

/// An external network or volume the stack names that the host lacks.
fn missing_external(t: &Target, host: &HostState) -> Option<String> {
    let used_nets: BTreeSet<&str> = t
        .services
        .values()
        .flat_map(|s| s.spec.networks.keys().map(String::as_str))
        .collect();
    for (key, r) in t
        .networks
        .iter()
        .filter(|(k, r)| r.external && used_nets.contains(k.as_str()))
    {
        let full = r.full_name(&t.name, key);
        if !host.networks.iter().any(|n| n.name == full || n.id == full) {
            return Some(format!(
                "external network {full} does not exist on host {}: create it (`docker network create {full}`) or drop `external`",
                t.host
            ));
        }
    }
    for (key, r) in t.volumes.iter().filter(|(_, r)| r.external) {
        let full = r.full_name(&t.name, key);
        if !host.volumes.contains(&full) {
            return Some(format!(
                "external volume {full} does not exist on host {}: create it (`docker volume create {full}`) or drop `external`",
                t.host
            ));
        }
    }
    None
}

/// The working directory's changes, as observed.
fn files(t: &Target, out: &mut Vec<Change>) {
    use crate::model::FileKind;
    for f in &t.files {
        let drift = f.kind == FileKind::Restore;
        out.push(Change::new(
            Action::for_file(f.kind),
            &f.path,
            f.reason.clone(),
            drift,
        ));
    }
}

/// Apply order: files and resources, removals, services, network removals.
fn phase(a: Action) -> u8 {
    match a {
        a if a.is_file() => 0,
        Action::CreateNetwork | Action::CreateVolume => 0,
        Action::Remove => 1,
        Action::RemoveNetwork => 3,
        _ => 2,
    }
}

/// A container that should run but exited with an error or is unhealthy.
fn failing(c: &ContainerSeen, want: &Want) -> bool {
    matches!(want, Want::Running)
        && (c.health == super::Health::Unhealthy
            || (c.state == RunState::Exited && !matches!(c.exit_code, None | Some(0 | 137 | 143)))
            || c.state == RunState::Restarting)
}

/// Networks and volumes the stack's services need and the host lacks.
fn resources(t: &Target, host: &HostState, out: &mut Vec<Change>) {
    let mut nets: BTreeSet<&str> = BTreeSet::new();
    for s in t.services.values() {
        if s.spec.options.network_mode.is_some() {
            continue;
        }
        if s.spec.networks.is_empty() {
            nets.insert("default");
        }
        nets.extend(s.spec.networks.keys().map(String::as_str));
    }
    for net in nets {
        if t.networks.get(net).is_some_and(|r| r.external) {
            continue;
        }
        let full = t.network(net).full_name(&t.name, net);
        if !host.networks.iter().any(|n| n.name == full) {
            out.push(Change::new(
                Action::CreateNetwork,
                net,
                format!("network {full} is missing"),
                false,
            ));
        }
    }
    for (vol, r) in &t.volumes {
        let full = r.full_name(&t.name, vol);
        if !r.external && !host.volumes.contains(&full) {
            out.push(Change::new(
                Action::CreateVolume,
                vol,
                format!("volume {full} is missing"),
                false,
            ));
        }
    }
}

fn remove_networks(project: &str, host: &HostState, why: &str, out: &mut Vec<Change>) {
    for n in host
        .networks
        .iter()
        .filter(|n| n.project == project && n.managed)
    {
        out.push(Change::with_id(
            Change::new(Action::RemoveNetwork, &n.name, why.to_owned(), false),
            &n.id,
        ));
    }
}

fn leftover(project: &str, host_name: &str, host: &HostState, prune: bool) -> StackPlan {
    let mut changes = Vec::new();
    let why = "stack is no longer in the repository (prune is on)";
    if prune {
        for c in host.containers.iter().filter(|c| c.project == project) {
            changes.push(Change::with_id(
                Change::new(Action::Remove, &c.service, why.into(), false),
                &c.id,
            ));
        }
        remove_networks(project, host, why, &mut changes);
    }
    StackPlan {
        stack: project.to_owned(),
        host: host_name.to_owned(),
        desired_state: if prune { "absent" } else { "unmanaged" }.into(),
        changes,
        error: None,
        failing: Vec::new(),
        leftover: true,
        held: Vec::new(),
    }
}

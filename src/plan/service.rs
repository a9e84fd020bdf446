//! One service's change: its container compared with its target — missing,
//! a different config or image (recreate, naming the fields), drifted
//! (stopped, paused, renamed outside tend), or held stopped/paused.

use super::{Action, Change, Context};
use crate::model::{ContainerSeen, HostState, RunState, ServiceTarget, Target};

/// What a service should be doing now, and why when it is not running.
pub(super) enum Want {
    /// Running.
    Running,
    /// Stopped, for this reason.
    Stopped(String),
    /// Paused, for this reason.
    Paused(String),
    /// No container at all.
    Absent,
}

/// The changes of container `number` of service `name`: create it when
/// missing, remove or recreate it, then put back drift and holds.
#[allow(clippy::too_many_arguments)]
pub(super) fn service_change(
    t: &Target,
    name: &str,
    number: u32,
    target: &ServiceTarget,
    seen: Option<&ContainerSeen>,
    host: &HostState,
    cx: &Context,
    want: &Want,
    fresh_stack: bool,
) -> Vec<Change> {
    let short = crate::model::short_commit(cx.commit);
    let run = matches!(want, Want::Running);
    let Some(c) = seen else {
        if matches!(want, Want::Absent) {
            return vec![];
        }
        let known = cx.deployed.contains(&(t.name.clone(), name.to_owned()));
        let (reason, drift) = if known {
            ("drift: container removed outside tend".to_owned(), true)
        } else if fresh_stack {
            (format!("new stack (commit {short})"), false)
        } else {
            (format!("new service (commit {short})"), false)
        };
        let action = if run {
            Action::Create
        } else {
            Action::CreateStopped
        };
        return vec![Change::new(action, name, reason, drift)];
    };
    let id = &c.id;
    if let Want::Absent = want {
        let reason = "x-tend.state is absent".into();
        return vec![Change::new(Action::Remove, name, reason, false).with_id(id)];
    }
    if let Some(reason) = recreate_reason(t, c, target, host, short) {
        let action = if run {
            Action::Recreate
        } else {
            Action::RecreateStopped
        };
        return vec![Change::new(action, name, reason, false).with_id(id)];
    }
    let mut out = Vec::new();
    if !target.is_named(&c.name, &t.name, name, number) {
        let reason = format!("drift: renamed to {} outside tend", c.name);
        out.push(Change::new(Action::Rename, name, reason, true).with_id(id));
    }
    out.extend(state_change(t, name, c, want));
    out
}

/// What brings container `c` to the state `want` asks for: start or
/// unpause it (drift, or a sleep window that is over), stop or pause it
/// (a hold or a window); nothing for a one-shot that completed.
fn state_change(t: &Target, name: &str, c: &ContainerSeen, want: &Want) -> Option<Change> {
    let change = |action, reason: String, drift| Change::new(action, name, reason, drift);
    let made = match want {
        Want::Running => match c.state {
            RunState::Running | RunState::Restarting | RunState::Removing => return None,
            RunState::Paused => {
                let why = "drift: container paused outside tend".into();
                change(Action::Unpause, why, true)
            }
            RunState::Exited if completed(c) => return None,
            RunState::Exited if t.sleep.is_some() && matches!(c.exit_code, Some(0 | 137 | 143)) => {
                let w = t.sleep.as_ref().map(|w| (w.from.expr(), w.to.expr()));
                let (from, to) = w.unwrap_or_default();
                let reason = format!("sleep window (from `{from}` to `{to}`) is over");
                change(Action::Start, reason, false)
            }
            RunState::Created | RunState::Exited | RunState::Dead => {
                let how = match c.exit_code {
                    Some(0 | 137 | 143) | None => "stopped outside tend".to_owned(),
                    Some(code) => format!("exited with code {code}"),
                };
                change(Action::Start, format!("drift: container {how}"), true)
            }
        },
        Want::Stopped(reason) if c.state.is_up() => change(Action::Stop, reason.clone(), false),
        Want::Paused(reason) if c.state == RunState::Running => {
            change(Action::Pause, reason.clone(), false)
        }
        _ => return None,
    };
    Some(made.with_id(&c.id))
}

/// A one-shot service that finished well and is not meant to restart.
fn completed(c: &ContainerSeen) -> bool {
    c.exit_code == Some(0) && (c.restart == "no" || c.restart.starts_with("on-failure"))
}

/// Why the container must be replaced (config fields, image, files), if
/// it must.
fn recreate_reason(
    stack: &Target,
    c: &ContainerSeen,
    t: &ServiceTarget,
    host: &HostState,
    short: &str,
) -> Option<String> {
    if c.hash != t.hash {
        if c.image != t.spec.image {
            return Some(format!(
                "new commit {short}: image {} → {}",
                c.image, t.spec.image
            ));
        }
        let changed: Vec<&str> = t
            .parts
            .iter()
            .filter(|(k, v)| c.parts.get(*k) != Some(*v))
            .map(|(k, _)| k.as_str())
            .collect();
        let what = if changed.is_empty() {
            "container spec".to_owned()
        } else if changed == ["files"] {
            changed_files(stack, t)
        } else {
            changed.join(", ")
        };
        let from = match t.spec.sources.as_slice() {
            [] => String::new(),
            files => format!(" (service read from {})", files.join(" + ")),
        };
        return Some(format!("new commit {short}: {what} changed{from}"));
    }
    match host.images.get(&t.spec.image) {
        Some(id) if *id != c.image_id => Some(format!(
            "image {} now points to {} (container runs {})",
            t.spec.image,
            short_id(id),
            short_id(&c.image_id)
        )),
        _ => None,
    }
}

fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

/// The tracked files this pass places under the service's binds, named
/// (`config/app.conf`), or "mounted files" when the pass places none.
fn changed_files(stack: &Target, t: &ServiceTarget) -> String {
    let names: Vec<&str> = stack
        .files
        .iter()
        .filter(|f| f.kind != crate::model::FileKind::CreateFolder)
        .filter(|f| t.binds.iter().any(|b| crate::model::under(&f.path, b)))
        .map(|f| f.path.as_str())
        .collect();
    if names.is_empty() {
        "mounted files".to_owned()
    } else {
        names.join(", ")
    }
}

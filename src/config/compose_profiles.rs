//! Compose profiles: a service with `profiles` runs only when the stack
//! enables one of them (`x-tend.profiles`); names as compose allows them;
//! a running service that needs a left-out one is an error, as in compose.

use super::At;
use super::compose::{self, ComposeFile};
use super::compose_forms as forms;
use super::node::{Pos, Value};
use std::collections::BTreeMap;

/// Whether a service runs: it names no profile, or one of `enabled`.
pub(super) fn active(
    s: &At<compose::ServiceSpec>,
    enabled: &[String],
    errs: &mut forms::Errs,
) -> bool {
    let Some(p) = &s.value.profiles else {
        return true;
    };
    let mine = forms::string_list(&p.0, errs);
    for (pos, m) in &mine {
        check_profile(*pos, m, errs);
    }
    mine.is_empty() || mine.iter().any(|(_, m)| enabled.contains(m))
}

/// A profile name as compose allows it: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn check_profile(pos: Pos, name: &str, errs: &mut forms::Errs) {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !ok {
        let msg = format!(
            "invalid profile name `{name}`: letters, digits, `_`, `.` and `-`, starting with a letter or digit"
        );
        errs.push((pos, msg));
    }
}

/// A running service that depends on one left out by its profiles is an
/// error, as in compose (unless the dependency is `required: false`).
pub(super) fn disabled_dependencies(
    spec: &ComposeFile,
    services: &BTreeMap<String, crate::model::Service>,
    errs: &mut forms::Errs,
) {
    for (name, service) in services {
        let raw = spec
            .services
            .get(name)
            .and_then(|r| r.value.depends_on.as_ref());
        for dep in service.depends_on.keys() {
            if services.contains_key(dep) || !spec.services.contains_key(dep) {
                continue;
            }
            let entry = raw.and_then(|r| r.0.get(dep));
            if entry.and_then(|e| e.get("required")).map(|r| &r.value) == Some(&Value::Bool(false))
            {
                continue;
            }
            let pos = raw.map_or(spec.services[name].pos, |r| r.0.pos);
            let msg = format!(
                "service `{dep}` is needed by service `{name}` (depends_on or network_mode) but is \
                 not enabled by the stack's profiles; enable its profile in `x-tend.profiles` or \
                 give `{name}` the same profile"
            );
            errs.push((pos, msg));
        }
    }
}

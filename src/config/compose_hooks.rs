//! A service's lifecycle keys: how many containers it runs (`scale`,
//! `deploy.replicas`), and `post_start`/`pre_stop` — lists of `{command,
//! user, privileged, environment, working_dir}`, the command a string
//! (split as a shell would) or a list, as the Compose Specification
//! defines them.

use super::compose_forms::{Errs, check_keys, key_values, scalar, words};
use super::node::{Node, Value};
use crate::model::Hook;

/// The hooks of one key.
pub fn hooks(node: &Node, errs: &mut Errs) -> Vec<Hook> {
    let Value::Seq(items) = &node.value else {
        errs.push((
            node.pos,
            "hooks are a list of {command, user, privileged, environment, working_dir}".into(),
        ));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        check_keys(
            item,
            &[
                "command",
                "user",
                "privileged",
                "environment",
                "working_dir",
            ],
            errs,
        );
        let Some(command) = item
            .get("command")
            .and_then(|c| words(c, errs))
            .filter(|c| !c.is_empty())
        else {
            errs.push((item.pos, "a hook needs a `command`".into()));
            continue;
        };
        let privileged = match item.get("privileged").map(|p| &p.value) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                errs.push((item.pos, "hook `privileged` is true or false".into()));
                false
            }
        };
        out.push(Hook {
            command,
            user: item.get("user").and_then(scalar),
            privileged,
            environment: item
                .get("environment")
                .map(|e| key_values(e, errs))
                .unwrap_or_default(),
            working_dir: item.get("working_dir").and_then(scalar),
        });
    }
    out
}

/// The hooks of a `post_start`/`pre_stop` key, when present.
pub fn hooks_of(node: &Option<super::at::RawNode>, errs: &mut Errs) -> Vec<crate::model::Hook> {
    node.as_ref().map(|n| hooks(&n.0, errs)).unwrap_or_default()
}

/// `scale` or `deploy.replicas` (equal when both are set), a count ≥ 0.
pub fn replicas(scale: Option<&Node>, deploy: Option<&Node>, errs: &mut Errs) -> Option<u32> {
    let deploy = deploy.and_then(|d| d.get("replicas"));
    let mut found = None;
    for n in [scale, deploy].into_iter().flatten() {
        let count = match n.value {
            Value::Int(i) => u32::try_from(i).ok(),
            _ => None,
        };
        let Some(count) = count else {
            errs.push((
                n.pos,
                format!(
                    "replicas must be a whole number of containers, 0 or more (found {})",
                    scalar(n).unwrap_or_else(|| n.value.kind().to_owned())
                ),
            ));
            continue;
        };
        match found {
            Some(other) if other != count => {
                errs.push((
                    n.pos,
                    format!("`scale: {other}` and `deploy.replicas: {count}` differ; set one"),
                ));
            }
            _ => found = Some(count),
        }
    }
    found
}

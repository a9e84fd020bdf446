//! `post_start` and `pre_stop`: lists of `{command, user, privileged,
//! environment, working_dir}`, the command a string (split as a shell
//! would) or a list, as the Compose Specification defines them.

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

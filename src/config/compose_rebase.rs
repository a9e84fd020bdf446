//! Relative paths of a compose file read from another folder than the
//! stack's (an included or extended file), rewritten relative to the stack
//! folder: relative bind sources (short and long syntax), `env_file`
//! entries, `build` contexts, and the `file` of top-level secrets and
//! configs. Absolute paths, `~`, URLs and named volumes stay as written.
//! A path that ends up outside the stack folder starts with `../` and is
//! refused later by the check of that field, at the place it was written.

use super::node::{Node, Value};

/// Rewrites the relative paths of a compose file whose project directory is
/// `base` (relative to the stack folder; `""` is the stack folder itself).
pub fn rebase(root: &mut Node, base: &str) {
    if base.is_empty() {
        return;
    }
    let Value::Map(top) = &mut root.value else {
        return;
    };
    for (k, v) in top.iter_mut() {
        match k.as_str() {
            Some("services") => {
                if let Value::Map(services) = &mut v.value {
                    for (_, s) in services.iter_mut() {
                        service(s, base);
                    }
                }
            }
            Some("secrets" | "configs") => {
                if let Value::Map(entries) = &mut v.value {
                    for (_, e) in entries.iter_mut() {
                        if let Some(f) = e.get_mut("file") {
                            path(f, base);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

fn service(s: &mut Node, base: &str) {
    let Value::Map(fields) = &mut s.value else {
        return;
    };
    for (k, v) in fields.iter_mut() {
        match (k.as_str(), &mut v.value) {
            (Some("volumes"), Value::Seq(items)) => items.iter_mut().for_each(|i| volume(i, base)),
            (Some("env_file"), Value::Seq(items)) => {
                items.iter_mut().for_each(|i| match &i.value {
                    Value::Map(_) => {
                        if let Some(p) = i.get_mut("path") {
                            path(p, base);
                        }
                    }
                    _ => path(i, base),
                })
            }
            (Some("env_file"), Value::Str(_)) => path(v, base),
            (Some("build"), Value::Str(_)) => path(v, base),
            (Some("build"), Value::Map(entries)) => {
                match entries
                    .iter_mut()
                    .find(|(k, _)| k.as_str() == Some("context"))
                {
                    Some((_, c)) => path(c, base),
                    None => {
                        let at = k.pos;
                        let node = |value| Node { pos: at, value };
                        entries.push((
                            node(Value::Str("context".into())),
                            node(Value::Str(joined(".", base))),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
}

/// One `volumes` entry: a relative bind source, short or long syntax.
fn volume(v: &mut Node, base: &str) {
    match &mut v.value {
        Value::Str(text) if text.starts_with('.') => {
            let (source, rest) = text.split_once(':').unwrap_or((text.as_str(), ""));
            let rebased = joined(source, base);
            *text = if rest.is_empty() {
                rebased
            } else {
                format!("{rebased}:{rest}")
            };
        }
        Value::Map(_) => {
            if let Some(s) = v
                .get_mut("source")
                .filter(|s| s.as_str().is_some_and(|t| t.starts_with('.')))
            {
                path(s, base);
            }
        }
        _ => {}
    }
}

/// A path value, unless absolute, `~`, a URL or interpolated to nothing.
fn path(n: &mut Node, base: &str) {
    if let Value::Str(text) = &mut n.value {
        let keep = text.is_empty()
            || text.starts_with('/')
            || text.starts_with('~')
            || text.contains("://")
            || text.starts_with("git@");
        if !keep {
            *text = joined(text, base);
        }
    }
}

/// `p` (relative to `base`) relative to the stack folder, as `./…`; a path
/// above the stack folder keeps its leading `..`.
fn joined(p: &str, base: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in base.split('/').chain(p.split('/')) {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.first() == Some(&"..") {
        parts.join("/")
    } else {
        format!("./{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn paths_are_joined_onto_the_project_directory() {
        assert_eq!(joined("./data", "compose/hs"), "./compose/hs/data");
        assert_eq!(joined("../shared", "compose/hs"), "./compose/shared");
        assert_eq!(joined("./x", "../../common"), "../../common/x");
        assert_eq!(joined(".", "sub"), "./sub");
    }
}

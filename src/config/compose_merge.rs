//! Compose's merge rules, on positioned node trees: how a service that
//! `extends` another is laid over it, and how several files of one
//! `include` entry are laid over each other.
//!
//! As the Compose Specification (and docker-compose 1.29) merge: mapping
//! keys (`environment`, `labels`, …, list or map form) by key, the later
//! value winning; "unique resource" lists (`volumes` and `devices` by
//! container path, `ports`, `secrets`/`configs` by target) by that key, a
//! later entry replacing an earlier one in place; other lists (`cap_add`,
//! `dns`, `env_file`, …) as the union, earlier entries first; nested
//! mappings (`deploy`, `logging`, `healthcheck`, `build`) recursively; and
//! everything else (`image`, `command`, `entrypoint`, …) replaced.

use super::node::{Node, Value};

/// Keys whose list form is `KEY=value` (or `host:ip`) and merge by key.
const BY_KEY: &[&str] = &[
    "environment",
    "labels",
    "sysctls",
    "extra_hosts",
    "ulimits",
    "storage_opt",
    "annotations",
    "depends_on",
    "networks",
];
/// Lists of resources unique by a key of their own.
const UNIQUE: &[&str] = &["volumes", "devices", "ports", "secrets", "configs"];
/// Lists merged as a union of their entries.
const UNION: &[&str] = &[
    "cap_add",
    "cap_drop",
    "expose",
    "dns",
    "dns_search",
    "dns_opt",
    "env_file",
    "tmpfs",
    "security_opt",
    "group_add",
    "links",
    "external_links",
    "volumes_from",
    "device_cgroup_rules",
];
/// Mappings merged key by key, recursively.
const DEEP: &[&str] = &["deploy", "logging", "healthcheck", "build", "blkio_config"];

/// `over` laid over `base` (both services as written); `over`'s position
/// is kept. `extends` itself is not carried over.
pub fn service(base: Node, over: Node) -> Node {
    let pos = over.pos;
    let without_extends = |mut n: Node| {
        if let Value::Map(entries) = &mut n.value {
            entries.retain(|(k, _)| k.as_str() != Some("extends"));
        }
        n
    };
    by_key(
        without_extends(base),
        without_extends(over),
        true,
        &mut field,
    )
    .unwrap_or(Node {
        pos,
        value: Value::Null,
    })
}

/// Two mappings merged key by key, in `base`'s order: a key in both gets
/// `both(key, base's value, over's value)` (and, with `over_keys`, over's
/// key node), a key only in `over` is appended; the result has `over`'s
/// position. When either side is not a mapping: `Err(over)`.
pub fn by_key(
    base: Node,
    over: Node,
    over_keys: bool,
    both: &mut dyn FnMut(&str, Node, Node) -> Node,
) -> Result<Node, Node> {
    let pos = over.pos;
    let (mut out, top) = match (base.value, over.value) {
        (Value::Map(out), Value::Map(top)) => (out, top),
        (_, value) => return Err(Node { pos, value }),
    };
    for (k, v) in top {
        match out.iter().position(|(bk, _)| same_key(bk, &k)) {
            Some(i) => {
                let key = super::compose_forms::scalar(&k).unwrap_or_default();
                let hole = Node {
                    pos: v.pos,
                    value: Value::Null,
                };
                let old = std::mem::replace(&mut out[i].1, hole);
                out[i].1 = both(&key, old, v);
                if over_keys {
                    out[i].0 = k;
                }
            }
            None => out.push((k, v)),
        }
    }
    Ok(Node {
        pos,
        value: Value::Map(out),
    })
}

/// One key of a service: `over` laid over `base`.
fn field(key: &str, base: Node, over: Node) -> Node {
    if BY_KEY.contains(&key) {
        merge_maps(as_map(base), as_map(over), false)
    } else if UNIQUE.contains(&key) {
        unique(key, as_seq(base), as_seq(over))
    } else if UNION.contains(&key) {
        let ident = |n: &Node| super::compose_forms::scalar(n).unwrap_or_default();
        let mut seq = as_seq(base);
        let Value::Seq(items) = &mut seq.value else {
            return over;
        };
        if let Value::Seq(more) = as_seq(over).value {
            for m in more {
                if !items.iter().any(|i| ident(i) == ident(&m)) {
                    items.push(m);
                }
            }
        }
        seq
    } else if DEEP.contains(&key) {
        merge_maps(base, over, true)
    } else {
        over
    }
}

/// Two mappings merged by key; with `deep`, mapping values recursively.
/// When either side is not a mapping, `over` wins.
pub fn merge_maps(base: Node, over: Node, deep: bool) -> Node {
    let mut both = |_: &str, old: Node, new: Node| {
        if deep {
            merge_maps(old, new, true)
        } else {
            new
        }
    };
    by_key(base, over, false, &mut both).unwrap_or_else(|over| over)
}

fn same_key(a: &Node, b: &Node) -> bool {
    super::compose_forms::scalar(a) == super::compose_forms::scalar(b)
}

/// A list-or-map field as a mapping: `K=V` → `K: V`, `K` → `K: null`,
/// `host:ip` (extra_hosts) → `host: ip`, a bare name (depends_on,
/// networks) → `name: null`.
fn as_map(node: Node) -> Node {
    let pos = node.pos;
    let Value::Seq(items) = node.value else {
        return node;
    };
    let entries = items
        .into_iter()
        .map(|item| {
            let text = super::compose_forms::scalar(&item).unwrap_or_default();
            let cut = text.find('=').or_else(|| text.find(':'));
            let (k, v) = match cut {
                Some(i) => (text[..i].to_owned(), Value::Str(text[i + 1..].to_owned())),
                None => (text, Value::Null),
            };
            let at = |value| Node {
                pos: item.pos,
                value,
            };
            (at(Value::Str(k)), at(v))
        })
        .collect();
    Node {
        pos,
        value: Value::Map(entries),
    }
}

/// A single value as a one-entry list (`dns: 1.1.1.1`, `env_file: a.env`).
fn as_seq(node: Node) -> Node {
    match node.value {
        Value::Seq(_) => node,
        Value::Null => Node {
            pos: node.pos,
            value: Value::Seq(Vec::new()),
        },
        _ => Node {
            pos: node.pos,
            value: Value::Seq(vec![node]),
        },
    }
}

/// Unique resources: `over`'s entries replace `base`'s with the same key in
/// place; the others are appended.
fn unique(key: &str, base: Node, over: Node) -> Node {
    let ident = |n: &Node| resource_key(key, n);
    let (Value::Seq(mut out), Value::Seq(top)) = (base.value, over.value) else {
        return Node {
            pos: over.pos,
            value: Value::Null,
        };
    };
    for item in top {
        let id = ident(&item);
        match out.iter().position(|o| ident(o) == id) {
            Some(i) => out[i] = item,
            None => out.push(item),
        }
    }
    Node {
        pos: over.pos,
        value: Value::Seq(out),
    }
}

/// What makes one entry of a unique-resource list unique.
fn resource_key(key: &str, n: &Node) -> String {
    if let Some(t) = n.get("target").and_then(super::compose_forms::scalar) {
        return t;
    }
    let text = super::compose_forms::scalar(n)
        .or_else(|| n.get("source").and_then(super::compose_forms::scalar))
        .unwrap_or_default();
    match key {
        // `SOURCE:TARGET[:MODE]` → TARGET; a lone entry is its own target.
        "volumes" | "devices" => {
            let parts: Vec<&str> = text.split(':').collect();
            parts.get(1).copied().unwrap_or(&text).to_owned()
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::node::parse_yaml;

    fn json(n: &Node) -> serde_json::Value {
        match &n.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => (*b).into(),
            Value::Int(i) => (*i).into(),
            Value::Float(f) => (*f).into(),
            Value::Str(s) => s.clone().into(),
            Value::Seq(items) => items.iter().map(json).collect(),
            Value::Map(entries) => entries
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), json(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
        }
    }

    fn merged(base: &str, over: &str) -> String {
        let out = service(parse_yaml(base).unwrap(), parse_yaml(over).unwrap());
        json(&out).to_string()
    }

    #[test]
    fn mappings_merge_by_key_lists_by_their_rules_scalars_replace() {
        let base = "image: a\ncommand: [x, y]\nenvironment: [A=1, B=2]\nvolumes: ['./a:/data', 'v:/v']\ncap_add: [NET_ADMIN]\ndeploy: {resources: {limits: {cpus: '1'}}}\nextends: z";
        let over = "image: b\ncommand: [z]\nenvironment: {B: '3', C: '4'}\nvolumes: ['./b:/data']\ncap_add: [SYS_TIME, NET_ADMIN]\ndeploy: {resources: {limits: {memory: 1g}}}";
        assert_eq!(
            merged(base, over),
            r#"{"cap_add":["NET_ADMIN","SYS_TIME"],"command":["z"],"deploy":{"resources":{"limits":{"cpus":"1","memory":"1g"}}},"environment":{"A":"1","B":"3","C":"4"},"image":"b","volumes":["./b:/data","v:/v"]}"#
        );
    }

    #[test]
    fn a_single_value_joins_a_list() {
        assert_eq!(
            merged(
                "dns: 1.1.1.1\nenv_file: a.env",
                "dns: [8.8.8.8]\nenv_file: b.env"
            ),
            r#"{"dns":["1.1.1.1","8.8.8.8"],"env_file":["a.env","b.env"]}"#
        );
    }
}

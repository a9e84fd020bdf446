//! The many-forms fields of compose (`environment` as list or map, `ports`
//! as number, string or mapping, …) read from positioned nodes into their
//! one normalised form. Each function reports problems into `errs` and
//! returns what it could read.

use super::node::{Node, Pos, Value};
pub use crate::model::inside_folder;
use crate::model::{DependCondition, PortMapping};
use std::collections::BTreeMap;

/// Problems found, each with its position.
pub type Errs = Vec<(Pos, String)>;

/// The text of a scalar node; numbers and booleans as written.
pub fn scalar(node: &Node) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn expected(errs: &mut Errs, node: &Node, what: &str) {
    errs.push((
        node.pos,
        format!("expected {what}, found {}", node.value.kind()),
    ));
}

/// `command`/`entrypoint`: a string (split like a shell would) or a list.
pub fn words(node: &Node, errs: &mut Errs) -> Option<Vec<String>> {
    match &node.value {
        Value::Str(s) => shlex::split(s).or_else(|| {
            errs.push((
                node.pos,
                format!("cannot split `{s}` into words (unbalanced quotes?)"),
            ));
            None
        }),
        Value::Seq(items) => items.iter().map(|n| scalar_or_err(n, errs)).collect(),
        _ => {
            expected(errs, node, "a string or a list of strings");
            None
        }
    }
}

pub fn scalar_or_err(node: &Node, errs: &mut Errs) -> Option<String> {
    let s = scalar(node);
    if s.is_none() {
        expected(errs, node, "a string");
    }
    s
}

/// `environment`/`labels`: `[K=V, K]` or `{K: V, K: null}`.
pub fn key_values(node: &Node, errs: &mut Errs) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                let Some(text) = scalar_or_err(item, errs) else {
                    continue;
                };
                match text.split_once('=') {
                    Some((k, v)) => out.insert(k.to_owned(), Some(v.to_owned())),
                    None => out.insert(text, None),
                };
            }
        }
        Value::Map(entries) => {
            for (k, v) in entries {
                let Some(key) = scalar_or_err(k, errs) else {
                    continue;
                };
                let value = match v.value {
                    Value::Null => None,
                    _ => scalar_or_err(v, errs),
                };
                out.insert(key, value);
            }
        }
        _ => expected(errs, node, "a list of `KEY=value` or a mapping"),
    }
    out
}

/// `env_file`, `networks` as a list: one string or a list of strings, with positions.
pub fn string_list(node: &Node, errs: &mut Errs) -> Vec<(Pos, String)> {
    match &node.value {
        Value::Str(s) => vec![(node.pos, s.clone())],
        Value::Seq(items) => items
            .iter()
            .filter_map(|n| scalar_or_err(n, errs).map(|s| (n.pos, s)))
            .collect(),
        _ => {
            expected(errs, node, "a string or a list of strings");
            Vec::new()
        }
    }
}

/// `depends_on`: `[a, b]` or `{a: {condition: service_healthy}}`.
pub fn depends_on(node: &Node, errs: &mut Errs) -> BTreeMap<String, (Pos, DependCondition)> {
    let mut out = BTreeMap::new();
    if let Value::Map(entries) = &node.value {
        for (k, v) in entries {
            let Some(name) = scalar_or_err(k, errs) else {
                continue;
            };
            let condition = match v.get("condition") {
                None => Some(DependCondition::ServiceStarted),
                Some(c) => condition(c, errs),
            };
            check_keys(v, &["condition", "restart", "required"], errs);
            if let Some(c) = condition {
                out.insert(name, (k.pos, c));
            }
        }
        return out;
    }
    for (pos, name) in string_list(node, errs) {
        out.insert(name, (pos, DependCondition::ServiceStarted));
    }
    out
}

fn condition(node: &Node, errs: &mut Errs) -> Option<DependCondition> {
    const NAMES: &[&str] = &[
        "service_started",
        "service_healthy",
        "service_completed_successfully",
    ];
    match node.as_str() {
        Some("service_started") => Some(DependCondition::ServiceStarted),
        Some("service_healthy") => Some(DependCondition::ServiceHealthy),
        Some("service_completed_successfully") => {
            Some(DependCondition::ServiceCompletedSuccessfully)
        }
        other => {
            let got = other.map_or_else(|| node.value.kind().to_owned(), str::to_owned);
            errs.push((
                node.pos,
                super::de::unknown_message("condition", &got, NAMES),
            ));
            None
        }
    }
}

/// Reports keys of a mapping node outside `allowed`; other node kinds are
/// reported as not being a mapping.
pub fn check_keys(node: &Node, allowed: &[&str], errs: &mut Errs) {
    match &node.value {
        Value::Map(entries) => {
            for (k, _) in entries {
                let key = scalar(k).unwrap_or_default();
                if !allowed.contains(&key.as_str()) {
                    errs.push((k.pos, super::de::unknown_message("key", &key, allowed)));
                }
            }
        }
        Value::Null => {}
        _ => expected(errs, node, "a mapping"),
    }
}

/// One network a service joins, as written.
#[derive(Debug, Default)]
pub struct ServiceNet {
    /// Where its name is.
    pub pos: Pos,
    /// DNS aliases.
    pub aliases: Vec<String>,
    /// A fixed IPv4 address and IPv6 address.
    pub addresses: (Option<String>, Option<String>),
    /// `priority`: networks are joined highest first.
    pub priority: Option<i64>,
}

/// `networks` of a service: `[front]` or `{front: {aliases: [web],
/// ipv4_address: …}}`.
pub fn service_networks(node: &Node, errs: &mut Errs) -> BTreeMap<String, ServiceNet> {
    let mut out = BTreeMap::new();
    if let Value::Map(entries) = &node.value {
        for (k, v) in entries {
            let Some(name) = scalar_or_err(k, errs) else {
                continue;
            };
            let keys = [
                "aliases",
                "ipv4_address",
                "ipv6_address",
                "priority",
                "gw_priority",
                "mac_address",
                "link_local_ips",
                "driver_opts",
            ];
            check_keys(v, &keys, errs);
            let aliases = v.get("aliases").map(|a| string_list(a, errs));
            let aliases = aliases
                .unwrap_or_default()
                .into_iter()
                .map(|(_, s)| s)
                .collect();
            let ip = |key| v.get(key).and_then(scalar);
            let addresses = (ip("ipv4_address"), ip("ipv6_address"));
            let priority = v.get("priority").and_then(|p| match p.value {
                Value::Int(n) => Some(n),
                _ => {
                    errs.push((p.pos, "`priority` must be an integer".into()));
                    None
                }
            });
            let net = ServiceNet {
                pos: k.pos,
                aliases,
                addresses,
                priority,
            };
            out.insert(name, net);
        }
        return out;
    }
    for (pos, name) in string_list(node, errs) {
        let net = ServiceNet {
            pos,
            ..ServiceNet::default()
        };
        out.insert(name, net);
    }
    out
}

/// One `ports` entry: `80`, `"8080:80"`, `"127.0.0.1:8080:80/udp"`, a
/// range (`"9000-9002:9000-9002"`: one mapping per port, host and container
/// ranges of one size; `"8000-8010:80"`: one container port published on a
/// port the engine picks from the host range) or a mapping.
pub fn port(node: &Node, errs: &mut Errs) -> Vec<PortMapping> {
    let bad = |errs: &mut Errs, why: &str| {
        errs.push((
            node.pos,
            format!("invalid port `{}`: {why}", scalar(node).unwrap_or_default()),
        ));
        Vec::new()
    };
    if let Value::Map(_) = node.value {
        return long_port(node, errs).into_iter().collect();
    }
    let Some(text) = scalar(node) else {
        return Vec::new();
    };
    let (spec, protocol) = text.split_once('/').unwrap_or((&text, "tcp"));
    if !matches!(protocol, "tcp" | "udp" | "sctp") {
        return bad(errs, "protocol must be tcp, udp or sctp");
    }
    let parts: Vec<&str> = spec.rsplitn(3, ':').collect();
    let Some(targets) = range(parts[0]) else {
        return bad(
            errs,
            "the container port must be a number from 1 to 65535 or a range like 9000-9002",
        );
    };
    let published = parts.get(1).filter(|p| !p.is_empty());
    let hosts = match published.map(|p| range(p)) {
        Some(None) => {
            return bad(
                errs,
                "the host port must be a number or a range like 8000-8010",
            );
        }
        Some(Some(h)) => Some(h),
        None => None,
    };
    let host_ip = parts.get(2).map(|h| h.trim_matches(['[', ']']).to_owned());
    let one = |target: u16, published: Option<String>| PortMapping {
        host_ip: host_ip.clone(),
        published,
        target,
        protocol: protocol.to_owned(),
    };
    match hosts {
        // One container port: published on the host port or range as written.
        _ if targets.0 == targets.1 => vec![one(targets.0, published.map(|p| p.to_string()))],
        None => (targets.0..=targets.1).map(|t| one(t, None)).collect(),
        Some(h) if h.1 - h.0 == targets.1 - targets.0 => (targets.0..=targets.1)
            .zip(h.0..=h.1)
            .map(|(t, p)| one(t, Some(p.to_string())))
            .collect(),
        Some(_) => bad(
            errs,
            "a container port range needs a host range of the same size (or none)",
        ),
    }
}

/// A long-form `ports` entry (`target`, `published`, `host_ip`, `protocol`;
/// `mode`, `name`, `app_protocol` accepted without effect).
fn long_port(node: &Node, errs: &mut Errs) -> Option<PortMapping> {
    let keys = [
        "target",
        "published",
        "host_ip",
        "protocol",
        "mode",
        "name",
        "app_protocol",
    ];
    check_keys(node, &keys, errs);
    let target = node
        .get("target")
        .and_then(scalar)
        .and_then(|t| t.parse().ok());
    let Some(target) = target else {
        errs.push((node.pos, "a long-form port needs a numeric `target`".into()));
        return None;
    };
    Some(PortMapping {
        host_ip: node.get("host_ip").and_then(scalar),
        published: node.get("published").and_then(scalar),
        target,
        protocol: node
            .get("protocol")
            .and_then(scalar)
            .unwrap_or_else(|| "tcp".into()),
    })
}

/// A port `80` or range `9000-9002` (low first), each in 1..=65535.
fn range(text: &str) -> Option<(u16, u16)> {
    let (lo, hi) = text.split_once('-').unwrap_or((text, text));
    let (lo, hi) = (lo.parse::<u16>().ok()?, hi.parse::<u16>().ok()?);
    (lo >= 1 && lo <= hi).then_some((lo, hi))
}

pub(super) fn leaves(source: &str) -> String {
    format!(
        "bind source `{source}` leaves the stack folder; relative binds resolve into \
         the stack's working directory, so keep what they mount inside the folder"
    )
}

//! The container-option keys of a compose service (`container_name`,
//! `cap_add`, `devices`, `ulimits`, `logging`, `deploy.resources`, …) read
//! from their raw nodes in every form compose accepts into
//! [`ContainerOptions`]; problems go to `errs` at the value they are about.

use super::compose_forms::{Errs, check_keys, key_values, scalar, string_list};
use super::node::{Node, Value};
use crate::model::ContainerOptions;
use std::collections::BTreeMap;

/// The raw option nodes of one service, by key.
pub type Raw<'a> = BTreeMap<&'static str, &'a Node>;

/// Reads every option present in `raw`.
pub fn options(raw: &Raw, errs: &mut Errs) -> ContainerOptions {
    let text = |k: &str, errs: &mut Errs| raw.get(k).and_then(|n| text_of(n, errs));
    let list = |k: &str, errs: &mut Errs| {
        raw.get(k)
            .map(|n| string_list(n, errs).into_iter().map(|(_, s)| s).collect())
            .unwrap_or_default()
    };
    let flag = |k: &str, errs: &mut Errs| raw.get(k).is_some_and(|n| boolean(n, errs));
    let size = |k: &str, errs: &mut Errs| raw.get(k).and_then(|n| bytes(n, errs));
    let int = |k: &str, errs: &mut Errs| raw.get(k).and_then(|n| integer(n, errs));
    let mut o = ContainerOptions {
        container_name: text("container_name", errs),
        hostname: text("hostname", errs),
        domainname: text("domainname", errs),
        network_mode: text("network_mode", errs),
        privileged: flag("privileged", errs),
        tty: flag("tty", errs),
        stdin_open: flag("stdin_open", errs),
        read_only: flag("read_only", errs),
        cap_add: list("cap_add", errs),
        cap_drop: list("cap_drop", errs),
        security_opt: list("security_opt", errs),
        dns: list("dns", errs),
        dns_search: list("dns_search", errs),
        dns_opt: list("dns_opt", errs),
        group_add: list("group_add", errs),
        stop_signal: text("stop_signal", errs),
        pid: text("pid", errs),
        ipc: text("ipc", errs),
        shm_size: size("shm_size", errs),
        memory: size("mem_limit", errs),
        memory_reservation: size("mem_reservation", errs),
        memswap_limit: size("memswap_limit", errs),
        nano_cpus: raw.get("cpus").and_then(|n| cpus(n, errs)),
        cpu_shares: int("cpu_shares", errs),
        cpuset: text("cpuset", errs),
        pids_limit: int("pids_limit", errs),
        oom_score_adj: int("oom_score_adj", errs),
        oom_kill_disable: flag("oom_kill_disable", errs),
        userns_mode: text("userns_mode", errs),
        cgroup_parent: text("cgroup_parent", errs),
        runtime: text("runtime", errs),
        ..ContainerOptions::default()
    };
    engine_options(raw, &mut o, errs);
    listed_options(raw, &mut o, errs);
    o
}

/// The options about the engine's view of the container: `cgroup`,
/// `storage_opt`, `devices`, `extra_hosts`, `gpus`, `deploy`, and the keys
/// refused because the engines tend speaks ignore them.
fn engine_options(raw: &Raw, o: &mut ContainerOptions, errs: &mut Errs) {
    if let Some(n) = raw.get("cgroup") {
        match text_of(n, errs).as_deref() {
            Some(m @ ("host" | "private")) => o.cgroup = Some(m.to_owned()),
            Some(other) => errs.push((n.pos, format!("cgroup `{other}` must be host or private"))),
            None => {}
        }
    }
    if let Some(n) = raw.get("storage_opt") {
        o.storage_opt = key_values(n, errs)
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
    }
    // Set through fields of Engine API 1.43/1.44 that the 1.41 engines
    // tend speaks to ignore: refused rather than silently dropped.
    for (key, api) in [("mac_address", "1.44"), ("annotations", "1.43")] {
        if let Some(n) = raw.get(key) {
            let msg = format!("`{key}` is not supported yet (it needs Engine API {api})");
            errs.push((n.pos, msg));
        }
    }
    if let Some(n) = raw.get("devices") {
        o.devices = devices(n, errs);
    }
    if let Some(n) = raw.get("extra_hosts") {
        o.extra_hosts = extra_hosts(n, errs);
    }
    if let Some(n) = raw.get("gpus") {
        let count = match &n.value {
            Value::Str(s) if s == "all" => -1,
            _ => integer(n, errs).unwrap_or(0),
        };
        o.gpus
            .push((String::new(), count, Vec::new(), vec!["gpu".into()]));
    }
    if let Some(n) = raw.get("deploy") {
        deploy(n, o, errs);
    }
}

/// The options in list or map forms: `expose`, `sysctls`,
/// `tmpfs`, `ulimits`, `logging`.
fn listed_options(raw: &Raw, o: &mut ContainerOptions, errs: &mut Errs) {
    if let Some(n) = raw.get("expose") {
        o.expose = string_list(n, errs)
            .into_iter()
            .map(|(_, p)| {
                if p.contains('/') {
                    p
                } else {
                    format!("{p}/tcp")
                }
            })
            .collect();
    }
    if let Some(n) = raw.get("sysctls") {
        o.sysctls = key_values(n, errs)
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect();
    }
    if let Some(n) = raw.get("tmpfs") {
        for (_, t) in string_list(n, errs) {
            let (path, opts) = t.split_once(':').unwrap_or((&t, ""));
            o.tmpfs.insert(path.to_owned(), opts.to_owned());
        }
    }
    if let Some(n) = raw.get("ulimits") {
        o.ulimits = ulimits(n, errs);
    }
    if let Some(n) = raw.get("logging") {
        o.logging = Some(logging(n, errs));
    }
}

/// `logging:` — the driver (`json-file` by default) and its options.
fn logging(n: &Node, errs: &mut Errs) -> (String, BTreeMap<String, String>) {
    check_keys(n, &["driver", "options"], errs);
    let driver = n
        .get("driver")
        .and_then(scalar)
        .unwrap_or_else(|| "json-file".into());
    let opts = n
        .get("options")
        .map(|o| key_values(o, errs))
        .unwrap_or_default();
    let opts = opts
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect();
    (driver, opts)
}

fn text_of(n: &Node, errs: &mut Errs) -> Option<String> {
    let s = scalar(n);
    if s.is_none() {
        errs.push((
            n.pos,
            format!("expected a string, found {}", n.value.kind()),
        ));
    }
    s
}

fn boolean(n: &Node, errs: &mut Errs) -> bool {
    match &n.value {
        Value::Bool(b) => *b,
        Value::Str(s) if s == "true" || s == "false" => s == "true",
        _ => {
            errs.push((
                n.pos,
                format!("expected true or false, found {}", n.value.kind()),
            ));
            false
        }
    }
}

fn integer(n: &Node, errs: &mut Errs) -> Option<i64> {
    let v = match &n.value {
        Value::Int(i) => Some(*i),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    };
    if v.is_none() {
        errs.push((
            n.pos,
            format!("expected a whole number, found {}", n.value.kind()),
        ));
    }
    v
}

/// A byte size: a number, or `64m`, `1.5g`, `512kb`, `100b` (1024-based).
pub fn bytes(n: &Node, errs: &mut Errs) -> Option<i64> {
    let text = scalar(n).unwrap_or_default().to_ascii_lowercase();
    let t = text.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let mult: f64 = match unit.trim().trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024.0f64.powi(4),
        _ => -1.0,
    };
    match num.parse::<f64>() {
        Ok(v) if mult > 0.0 && t != "-1" => Some((v * mult) as i64),
        _ if t == "-1" => Some(-1),
        _ => {
            errs.push((
                n.pos,
                format!("`{text}` is not a size (e.g. 512m, 2g, 1024)"),
            ));
            None
        }
    }
}

fn cpus(n: &Node, errs: &mut Errs) -> Option<i64> {
    let v = scalar(n).and_then(|s| s.trim().parse::<f64>().ok());
    match v {
        Some(c) if c >= 0.0 => Some((c * 1e9).round() as i64),
        _ => {
            errs.push((n.pos, "`cpus` is a number of CPUs, e.g. 0.5 or 2".into()));
            None
        }
    }
}

/// `devices`: `/dev/a`, `/dev/a:/dev/b`, `/dev/a:/dev/b:rwm`, or the long
/// form `{source, target, permissions}`.
fn devices(n: &Node, errs: &mut Errs) -> Vec<(String, String, String)> {
    let Value::Seq(items) = &n.value else {
        errs.push((n.pos, "`devices` is a list".into()));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let (src, dst, perm) = if let Value::Map(_) = item.value {
            check_keys(item, &["source", "target", "permissions"], errs);
            let get = |k| item.get(k).and_then(scalar);
            let src = get("source").unwrap_or_default();
            (
                src.clone(),
                get("target").unwrap_or(src),
                get("permissions").unwrap_or_else(|| "rwm".into()),
            )
        } else {
            let text = scalar(item).unwrap_or_default();
            let parts: Vec<&str> = text.split(':').collect();
            match parts.as_slice() {
                [a] => (a.to_string(), a.to_string(), "rwm".into()),
                [a, b] => (a.to_string(), b.to_string(), "rwm".into()),
                [a, b, c] => (a.to_string(), b.to_string(), c.to_string()),
                _ => {
                    errs.push((
                        item.pos,
                        format!("device `{text}` is not `host[:container[:permissions]]`"),
                    ));
                    continue;
                }
            }
        };
        if src.contains('=') && !src.starts_with('/') {
            errs.push((
                item.pos,
                format!("CDI device `{src}` needs a newer engine (API 1.44); tend speaks 1.41"),
            ));
            continue;
        }
        if !src.starts_with('/') || !dst.starts_with('/') {
            errs.push((
                item.pos,
                format!("device paths must be absolute: `{src}:{dst}`"),
            ));
            continue;
        }
        out.push((src, dst, perm));
    }
    out
}

fn extra_hosts(n: &Node, errs: &mut Errs) -> Vec<String> {
    if let Value::Map(_) = n.value {
        return key_values(n, errs)
            .into_iter()
            .map(|(k, v)| format!("{k}:{}", v.unwrap_or_default()))
            .collect();
    }
    string_list(n, errs)
        .into_iter()
        .map(|(_, h)| match h.split_once('=') {
            Some((name, ip)) if !h.contains(':') || h.find('=') < h.find(':') => {
                format!("{name}:{ip}")
            }
            _ => h,
        })
        .collect()
}

fn ulimits(n: &Node, errs: &mut Errs) -> BTreeMap<String, (i64, i64)> {
    let mut out = BTreeMap::new();
    let Value::Map(entries) = &n.value else {
        errs.push((n.pos, "`ulimits` is a mapping".into()));
        return out;
    };
    for (k, v) in entries {
        let name = scalar(k).unwrap_or_default();
        let pair = match &v.value {
            Value::Map(_) => {
                check_keys(v, &["soft", "hard"], errs);
                let soft = v.get("soft").and_then(|s| integer(s, errs));
                let hard = v.get("hard").and_then(|h| integer(h, errs));
                soft.zip(hard)
            }
            _ => integer(v, errs).map(|i| (i, i)),
        };
        if let Some(p) = pair {
            out.insert(name, p);
        }
    }
    out
}

/// `deploy`: resources map onto the container; Swarm-only keys are
/// accepted and have no effect outside Swarm, as with compose.
fn deploy(n: &Node, o: &mut ContainerOptions, errs: &mut Errs) {
    check_keys(
        n,
        &[
            "resources",
            "restart_policy",
            "replicas",
            "mode",
            "placement",
            "update_config",
            "rollback_config",
            "labels",
            "endpoint_mode",
        ],
        errs,
    );
    let Some(res) = n.get("resources") else {
        return;
    };
    check_keys(res, &["limits", "reservations"], errs);
    if let Some(l) = res.get("limits") {
        check_keys(l, &["cpus", "memory", "pids"], errs);
        if let Some(c) = l.get("cpus") {
            o.nano_cpus = cpus(c, errs);
        }
        if let Some(m) = l.get("memory") {
            o.memory = bytes(m, errs);
        }
        if let Some(p) = l.get("pids") {
            o.pids_limit = integer(p, errs);
        }
    }
    if let Some(r) = res.get("reservations") {
        check_keys(r, &["cpus", "memory", "devices", "generic_resources"], errs);
        if let Some(m) = r.get("memory") {
            o.memory_reservation = bytes(m, errs);
        }
        if let Some(Value::Seq(devs)) = r.get("devices").map(|d| &d.value) {
            for d in devs {
                check_keys(
                    d,
                    &["driver", "count", "device_ids", "capabilities", "options"],
                    errs,
                );
                let driver = d.get("driver").and_then(scalar).unwrap_or_default();
                let count = match d.get("count") {
                    Some(c) if c.as_str() == Some("all") => -1,
                    Some(c) => integer(c, errs).unwrap_or(0),
                    None if d.get("device_ids").is_some() => 0,
                    None => -1,
                };
                let ids = d
                    .get("device_ids")
                    .map(|i| string_list(i, errs))
                    .unwrap_or_default();
                let caps = d
                    .get("capabilities")
                    .map(|c| string_list(c, errs))
                    .unwrap_or_default();
                let ids = ids.into_iter().map(|(_, s)| s).collect();
                let caps = caps.into_iter().map(|(_, s)| s).collect();
                o.gpus.push((driver, count, ids, caps));
            }
        }
    }
}

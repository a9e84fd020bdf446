//! A service's `volumes` entries in both syntaxes, as the Compose
//! Specification defines them: short `SOURCE:TARGET[:MODE]` (a source that
//! starts with `/`, `.` or `~` is a bind, any other a named volume; MODE
//! `ro`/`rw`, SELinux `z`/`Z`, propagation, `nocopy`), and long mappings of
//! `type` `bind` (`bind.propagation`, `bind.create_host_path`,
//! `bind.selinux`), `volume` (`volume.nocopy`) and `tmpfs` (`tmpfs.size`,
//! `tmpfs.mode`). Each becomes one [`Mount`], extra options kept in its
//! `options` as the engine's bind mode takes them.

use super::compose_forms::{Errs, check_keys, inside_folder, leaves, scalar, scalar_or_err};
use super::node::{Node, Value};
use crate::model::{Mount, MountKind};

/// Mode words a bind or volume may carry besides `ro`/`rw`; macOS-only
/// consistency words are accepted and dropped, as compose does on Linux.
const MODES: &[&str] = &[
    "z", "Z", "shared", "rshared", "slave", "rslave", "private", "rprivate", "nocopy",
];
const DROPPED: &[&str] = &["cached", "delegated", "consistent"];

/// One `volumes` entry: `"./data:/data:ro"`, `"db:/var/lib/db"` or a mapping.
pub fn mount(node: &Node, errs: &mut Errs) -> Option<Mount> {
    if let Value::Map(_) = node.value {
        return long(node, errs);
    }
    let text = scalar_or_err(node, errs)?;
    let parts: Vec<&str> = text.split(':').collect();
    let (source, target, mode) = match parts.as_slice() {
        [t] => ("", *t, ""),
        [s, t] => (*s, *t, ""),
        [s, t, m] => (*s, *t, *m),
        _ => {
            let msg = format!("invalid volume `{text}`: expected `source:target[:mode]`");
            errs.push((node.pos, msg));
            return None;
        }
    };
    if !target.starts_with('/') {
        let msg = format!("volume target `{target}` must be an absolute container path");
        errs.push((node.pos, msg));
        return None;
    }
    if source.starts_with('.') && inside_folder(source).is_none() {
        errs.push((node.pos, leaves(source)));
        return None;
    }
    let bind = source.starts_with('/') || source.starts_with('.') || source.starts_with('~');
    let mut options = Vec::new();
    let mut read_only = false;
    for word in mode.split(',').filter(|w| !w.is_empty()) {
        match word {
            "ro" => read_only = true,
            "rw" => read_only = false,
            w if MODES.contains(&w) => options.push(w),
            w if DROPPED.contains(&w) => {}
            w => {
                let msg = format!(
                    "unknown volume mode `{w}` (ro, rw, z, Z, nocopy, or a propagation: {})",
                    MODES[2..8].join(", ")
                );
                errs.push((node.pos, msg));
                return None;
            }
        }
    }
    Some(Mount {
        kind: if bind {
            MountKind::Bind
        } else {
            MountKind::Volume
        },
        source: source.to_owned(),
        target: target.to_owned(),
        read_only,
        options: options.join(","),
    })
}

fn long(node: &Node, errs: &mut Errs) -> Option<Mount> {
    let keys = [
        "type",
        "source",
        "target",
        "read_only",
        "bind",
        "volume",
        "tmpfs",
        "consistency",
    ];
    check_keys(node, &keys, errs);
    let kind = match node.get("type").and_then(Node::as_str) {
        Some("bind") => MountKind::Bind,
        Some("volume") | None => MountKind::Volume,
        Some("tmpfs") => MountKind::Tmpfs,
        Some(other) => {
            let msg = format!("mount type `{other}` is not supported (bind, volume or tmpfs)");
            errs.push((node.pos, msg));
            return None;
        }
    };
    let Some(target) = node.get("target").and_then(scalar) else {
        errs.push((node.pos, "a long-form volume needs a `target`".into()));
        return None;
    };
    let source = node.get("source").and_then(scalar).unwrap_or_default();
    if kind == MountKind::Bind && source.starts_with('.') && inside_folder(&source).is_none() {
        errs.push((node.pos, leaves(&source)));
        return None;
    }
    let options = match kind {
        MountKind::Bind => bind_options(node.get("bind"), errs),
        MountKind::Volume => volume_options(node.get("volume"), errs),
        MountKind::Tmpfs => tmpfs_options(node.get("tmpfs"), errs),
    };
    let read_only = matches!(
        node.get("read_only").map(|n| &n.value),
        Some(Value::Bool(true))
    );
    Some(Mount {
        kind,
        source,
        target,
        read_only,
        options: options.join(","),
    })
}

fn bind_options(node: Option<&Node>, errs: &mut Errs) -> Vec<String> {
    let Some(node) = node else {
        return Vec::new();
    };
    check_keys(node, &["propagation", "create_host_path", "selinux"], errs);
    let mut out = Vec::new();
    for key in ["selinux", "propagation"] {
        if let Some(v) = node.get(key) {
            match scalar(v) {
                Some(w) if MODES.contains(&w.as_str()) && w != "nocopy" => out.push(w),
                _ => errs.push((v.pos, format!("invalid bind.{key}"))),
            }
        }
    }
    out
}

fn volume_options(node: Option<&Node>, errs: &mut Errs) -> Vec<String> {
    let Some(node) = node else {
        return Vec::new();
    };
    check_keys(node, &["nocopy", "subpath"], errs);
    if let Some(v) = node.get("subpath") {
        let msg = "volume.subpath is not supported yet (it needs Engine API 1.45)";
        errs.push((v.pos, msg.to_owned()));
    }
    match node.get("nocopy").map(|n| &n.value) {
        Some(Value::Bool(true)) => vec!["nocopy".to_owned()],
        _ => Vec::new(),
    }
}

fn tmpfs_options(node: Option<&Node>, errs: &mut Errs) -> Vec<String> {
    let Some(node) = node else {
        return Vec::new();
    };
    check_keys(node, &["size", "mode"], errs);
    let mut out = Vec::new();
    if let Some(v) = node.get("size")
        && let Some(n) = super::compose_opts::bytes(v, errs)
    {
        out.push(format!("size={n}"));
    }
    if let Some(v) = node.get("mode") {
        match &v.value {
            // A number is the mode's value (`0o1777` in YAML 1.2), as
            // compose reads it; a string holds octal digits.
            Value::Int(n) => out.push(format!("mode={n:o}")),
            Value::Str(s) if u32::from_str_radix(s.trim_start_matches("0o"), 8).is_ok() => {
                out.push(format!("mode={}", s.trim_start_matches("0o")));
            }
            _ => errs.push((v.pos, "tmpfs.mode must be an octal mode like 1777".into())),
        }
    }
    out
}

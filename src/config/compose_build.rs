//! A service's `build`: a context folder inside the repository (short
//! syntax `build: ./app`, or `context`), `dockerfile` or
//! `dockerfile_inline`, `args`, `target`, `labels`, `network`, `pull`,
//! `no_cache`. Remote contexts and the BuildKit-only keys are a precise
//! error at their place; `cache_from` is accepted (a cache hint only).

use super::compose_forms::{Errs, check_keys, key_values, scalar};
use super::node::{Node, Value};
use crate::model::{Build, inside_folder, under};

const KEYS: &[&str] = &[
    "context",
    "dockerfile",
    "dockerfile_inline",
    "args",
    "target",
    "labels",
    "network",
    "pull",
    "no_cache",
    "cache_from",
];
/// Compose build keys tend does not send to the engine's classic builder.
const LATER: &[&str] = &[
    "ssh",
    "secrets",
    "tags",
    "platforms",
    "cache_to",
    "additional_contexts",
    "extra_hosts",
    "shm_size",
    "isolation",
    "privileged",
    "ulimits",
    "entitlements",
];

/// The build settings of `node`, for a service of the stack folder `dir`.
pub fn build(node: &Node, dir: &str, errs: &mut Errs) -> Option<Build> {
    let mut out = Build::default();
    let context = match &node.value {
        Value::Str(s) => (node, s.clone()),
        Value::Map(entries) => {
            let allowed: Vec<&str> = KEYS.iter().chain(LATER).copied().collect();
            check_keys(node, &allowed, errs);
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                if LATER.contains(&key) {
                    errs.push((k.pos, format!("`build.{key}` is not supported yet")));
                }
                fields(&mut out, key, v, errs);
            }
            match node.get("context") {
                Some(c) => (c, scalar(c).unwrap_or_default()),
                None => (node, ".".to_owned()),
            }
        }
        _ => {
            errs.push((node.pos, "`build` is a context folder or a mapping".into()));
            return None;
        }
    };
    let (at, text) = context;
    if text.contains("://") || text.starts_with("git@") {
        let msg = format!(
            "build context `{text}` is remote; tend builds from a folder inside the repository"
        );
        errs.push((at.pos, msg));
        return None;
    }
    let Some(path) = inside_folder(&format!("{dir}/{text}")).filter(|_| !text.starts_with('/'))
    else {
        errs.push((
            at.pos,
            format!("build context `{text}` leaves the repository"),
        ));
        return None;
    };
    out.context = path;
    if let Some(f) = &out.dockerfile {
        let full = inside_folder(&format!("{}/{f}", out.context));
        if f.starts_with('/') || !full.is_some_and(|p| under(&p, &out.context)) {
            let at = node.get("dockerfile").map_or(node.pos, |d| d.pos);
            errs.push((
                at,
                format!("dockerfile `{f}` must be inside the build context"),
            ));
        }
    }
    if out.dockerfile.is_some() && out.dockerfile_inline.is_some() {
        errs.push((
            node.pos,
            "`dockerfile` and `dockerfile_inline` exclude each other".into(),
        ));
    }
    Some(out)
}

/// One key of the long syntax.
fn fields(out: &mut Build, key: &str, v: &Node, errs: &mut Errs) {
    let text = || match &v.value {
        Value::Str(_) | Value::Int(_) | Value::Float(_) | Value::Bool(_) => scalar(v),
        _ => None,
    };
    let flag = |errs: &mut Errs| match v.value {
        Value::Bool(b) => b,
        _ => {
            errs.push((v.pos, format!("`build.{key}` is true or false")));
            false
        }
    };
    match key {
        "dockerfile" => out.dockerfile = text(),
        "dockerfile_inline" => out.dockerfile_inline = text(),
        "target" => out.target = text(),
        "network" => out.network = text(),
        "args" => out.args = key_values(v, errs),
        "labels" => {
            out.labels = key_values(v, errs)
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
        }
        "pull" => out.pull = flag(errs),
        "no_cache" => out.no_cache = flag(errs),
        _ => {}
    }
}

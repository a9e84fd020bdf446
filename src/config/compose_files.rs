//! Top-level `secrets` and `configs` read from files, and the services'
//! references to them. Outside Swarm, compose bind-mounts each file
//! read-only into the container — a secret at `/run/secrets/<target>`, a
//! config at `/<target>` (an absolute `target` as written) — and tend does
//! the same, the file resolved like any relative bind (the stack's working
//! directory). Other sources (`environment`, `content`, `external`) are a
//! precise "not supported yet" error at their place. Also a service's
//! `env_file` entries, in their short and long (`path`, `required`,
//! `format`) forms.

use super::at::{At, RawNode};
use super::compose_forms::Errs;
use super::node::{Node, Pos, Value};
use crate::model::{EnvFile, Mount, MountKind};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One top-level secret or config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// The file, relative to the stack folder.
    pub file: Option<At<String>>,
    /// From an environment variable (not supported yet).
    pub environment: Option<At<String>>,
    /// Inline content (configs; not supported yet).
    pub content: Option<At<String>>,
    /// Managed by Swarm (not supported outside it).
    pub external: Option<RawNode>,
    /// The Swarm object's name: accepted, meaningless for a file.
    #[serde(rename = "name")]
    _name: Option<String>,
    /// Swarm labels: accepted, meaningless for a file.
    #[serde(rename = "labels")]
    _labels: Option<RawNode>,
}

/// Which of the two: where the file lands and what the key is called.
#[derive(Clone, Copy)]
pub enum Kind {
    /// `secrets`: `/run/secrets/<target>`.
    Secret,
    /// `configs`: `/<target>`.
    Config,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Secret => "secrets",
            Kind::Config => "configs",
        }
    }

    fn path(self, target: &str) -> String {
        match self {
            _ if target.starts_with('/') => target.to_owned(),
            Kind::Secret => format!("/run/secrets/{target}"),
            Kind::Config => format!("/{target}"),
        }
    }
}

/// The source file of each declared secret or config (as a relative bind
/// source, `./…`), with errors for the sources tend cannot serve.
pub fn declared(
    specs: &BTreeMap<String, At<FileSpec>>,
    kind: Kind,
    errs: &mut Errs,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, spec) in specs {
        let s = &spec.value;
        let unsupported = [
            ("environment", s.environment.as_ref().map(|a| a.pos)),
            ("content", s.content.as_ref().map(|a| a.pos)),
            ("external", s.external.as_ref().map(|r| r.0.pos)),
        ];
        for (what, pos) in unsupported {
            if let Some(pos) = pos {
                let msg = format!(
                    "{} {name}: `{what}` is not supported yet (only `file:`)",
                    kind.key()
                );
                errs.push((pos, msg));
            }
        }
        match &s.file {
            Some(f) if f.value.starts_with('/') || f.value.starts_with('.') => {
                out.insert(name.clone(), f.value.clone());
            }
            Some(f) => {
                out.insert(name.clone(), format!("./{}", f.value));
            }
            None if unsupported.iter().all(|(_, p)| p.is_none()) => {
                errs.push((
                    spec.pos,
                    format!("{} {name}: `file:` is missing", kind.key()),
                ));
            }
            None => {}
        }
    }
    out
}

/// A service's `secrets:`/`configs:` (`[name]` or `[{source, target, …}]`)
/// as read-only bind mounts of the declared files.
pub fn mounts(
    node: &Node,
    declared: &BTreeMap<String, String>,
    kind: Kind,
    errs: &mut Errs,
) -> Vec<Mount> {
    let Value::Seq(items) = &node.value else {
        errs.push((node.pos, format!("`{}` must be a list", kind.key())));
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        let Some((pos, source, target)) = reference(item, kind, errs) else {
            continue;
        };
        let Some(file) = declared.get(&source) else {
            let known: Vec<&str> = declared.keys().map(String::as_str).collect();
            let msg = format!(
                "unknown {} `{source}` (declared: {})",
                kind.key(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            );
            errs.push((pos, msg));
            continue;
        };
        out.push(Mount {
            kind: MountKind::Bind,
            source: file.clone(),
            target: kind.path(&target),
            read_only: true,
            options: String::new(),
        });
    }
    out
}

/// (position, source, target) of one reference.
fn reference(item: &Node, kind: Kind, errs: &mut Errs) -> Option<(Pos, String, String)> {
    if let Some(name) = item.as_str() {
        return Some((item.pos, name.to_owned(), name.to_owned()));
    }
    let Value::Map(entries) = &item.value else {
        errs.push((
            item.pos,
            format!("a `{}` entry is a name or a mapping", kind.key()),
        ));
        return None;
    };
    let (mut source, mut target) = (None, None);
    for (k, v) in entries {
        match k.as_str() {
            Some("source") => source = v.as_str().map(str::to_owned),
            Some("target") => target = v.as_str().map(str::to_owned),
            // Ownership and mode apply to Swarm's copies; a bind keeps the file's.
            Some("uid" | "gid" | "mode") => {}
            _ => errs.push((
                k.pos,
                format!(
                    "unknown key in a `{}` entry (source, target, uid, gid, mode)",
                    kind.key()
                ),
            )),
        }
    }
    let Some(source) = source else {
        errs.push((item.pos, "`source` is missing".to_owned()));
        return None;
    };
    let target = target.unwrap_or_else(|| source.clone());
    Some((item.pos, source, target))
}

/// A service's `env_file`: one path, or a list of paths and `{path,
/// required, format}` mappings; paths relative to the stack folder `dir`.
pub fn env_files(node: &Node, dir: &str, errs: &mut Errs) -> Vec<(Pos, EnvFile)> {
    let items = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    let mut out = Vec::new();
    for item in items {
        let (path, required, raw) = match &item.value {
            Value::Str(p) => (p.clone(), true, false),
            Value::Map(entries) => {
                let (mut path, mut required, mut raw) = (None, true, false);
                for (k, v) in entries {
                    match (k.as_str(), &v.value) {
                        (Some("path"), Value::Str(p)) => path = Some(p.clone()),
                        (Some("required"), Value::Bool(b)) => required = *b,
                        (Some("format"), Value::Str(f)) if f == "raw" => raw = true,
                        (Some("format"), Value::Str(f)) if f.is_empty() => {}
                        (Some("format"), _) => errs.push((
                            v.pos,
                            "env_file `format` is `raw` (or absent, for dotenv)".into(),
                        )),
                        _ => errs.push((
                            k.pos,
                            "an env_file entry is a path or {path, required, format}".into(),
                        )),
                    }
                }
                let Some(path) = path else {
                    errs.push((item.pos, "env_file entry: `path` is missing".into()));
                    continue;
                };
                (path, required, raw)
            }
            _ => {
                errs.push((
                    item.pos,
                    "an env_file entry is a path or {path, required, format}".into(),
                ));
                continue;
            }
        };
        if path.starts_with('/') {
            let msg =
                format!("env_file `{path}` is absolute; env files are read from the repository");
            errs.push((item.pos, msg));
            continue;
        }
        let Some(full) = crate::model::inside_folder(&format!("{dir}/{path}")) else {
            errs.push((item.pos, format!("env_file `{path}` leaves the repository")));
            continue;
        };
        out.push((
            item.pos,
            EnvFile {
                path: full.into(),
                required,
                raw,
            },
        ));
    }
    out
}

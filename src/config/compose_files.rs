//! Top-level `secrets` and `configs` read from files, and the services'
//! references to them. Outside Swarm, compose bind-mounts each file
//! read-only into the container — a secret at `/run/secrets/<target>`, a
//! config at `/<target>` (an absolute `target` as written) — and tend does
//! the same, the file resolved like any relative bind (the stack's working
//! directory). A secret from `environment:` (a stack variable) and a config
//! from `content:` are copied into the container before it starts, with
//! their `mode`, `uid` and `gid`, as compose v2 copies them; `external`
//! exists only in Swarm. Also a service's
//! `env_file` entries, in their short and long (`path`, `required`,
//! `format`) forms.

use super::at::{At, RawNode};
use super::compose_forms::Errs;
use super::compose_forms::scalar;
use super::node::{Node, Pos, Value};
use crate::model::{EnvFile, Inject, Mount, MountKind};
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

/// Where a declared secret or config comes from.
pub enum Source {
    /// A file of the repository (a relative bind source, `./…`) or of the host.
    File(String),
    /// Text copied into the container (an `environment:` variable's value,
    /// a config's `content:`).
    Text(String),
}

/// The source of each declared secret or config; `vars` are the stack's
/// variables (for `environment:`).
pub fn declared(
    specs: &BTreeMap<String, At<FileSpec>>,
    kind: Kind,
    vars: &dyn Fn(&str) -> Option<String>,
    errs: &mut Errs,
) -> BTreeMap<String, Source> {
    let mut out = BTreeMap::new();
    for (name, spec) in specs {
        let s = &spec.value;
        let what = format!("{} {name}", kind.key());
        if let Some(x) = &s.external {
            errs.push((x.0.pos, format!("{what}: `external` exists only in Swarm; use `file`, `environment` or `content`")));
        }
        let given = [
            s.file.is_some(),
            s.environment.is_some(),
            s.content.is_some(),
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            errs.push((
                spec.pos,
                format!("{what}: set one of `file`, `environment`, `content`"),
            ));
        }
        let source = match (&s.file, &s.environment, &s.content) {
            (Some(f), _, _) if f.value.starts_with('/') || f.value.starts_with('.') => {
                Source::File(f.value.clone())
            }
            (Some(f), _, _) => Source::File(format!("./{}", f.value)),
            (None, Some(var), _) => match vars(&var.value) {
                Some(v) => Source::Text(v),
                None => {
                    errs.push((
                        var.pos,
                        format!(
                            "{what}: variable {} is not set (.env, [vars] or the host's vars)",
                            var.value
                        ),
                    ));
                    continue;
                }
            },
            (None, None, Some(c)) if matches!(kind, Kind::Config) => Source::Text(c.value.clone()),
            (None, None, Some(c)) => {
                errs.push((c.pos, format!("{what}: `content` is for configs; a secret comes from `file` or `environment`")));
                continue;
            }
            (None, None, None) => {
                if s.external.is_none() {
                    errs.push((
                        spec.pos,
                        format!("{what}: `file`, `environment` or `content` is missing"),
                    ));
                }
                continue;
            }
        };
        out.insert(name.clone(), source);
    }
    out
}

/// A service's `secrets:`/`configs:` (`[name]` or `[{source, target, uid,
/// gid, mode}]`): files as read-only bind mounts, text copied in.
pub fn mounts(
    node: &Node,
    declared: &BTreeMap<String, Source>,
    kind: Kind,
    errs: &mut Errs,
) -> (Vec<Mount>, Vec<Inject>) {
    let Value::Seq(items) = &node.value else {
        errs.push((node.pos, format!("`{}` must be a list", kind.key())));
        return (Vec::new(), Vec::new());
    };
    let (mut binds, mut texts) = (Vec::new(), Vec::new());
    for item in items {
        let Some(r) = reference(item, kind, errs) else {
            continue;
        };
        match declared.get(&r.source) {
            Some(Source::File(file)) => binds.push(Mount {
                kind: MountKind::Bind,
                source: file.clone(),
                target: kind.path(&r.target),
                read_only: true,
                options: String::new(),
            }),
            Some(Source::Text(content)) => texts.push(Inject {
                name: format!("{} {}", kind.key().trim_end_matches('s'), r.source),
                target: kind.path(&r.target),
                content: content.clone(),
                mode: r.mode.unwrap_or(0o444),
                uid: r.owner.0,
                gid: r.owner.1,
            }),
            None => {
                let known: Vec<&str> = declared.keys().map(String::as_str).collect();
                let known = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                errs.push((
                    r.pos,
                    format!("unknown {} `{}` (declared: {known})", kind.key(), r.source),
                ));
            }
        }
    }
    (binds, texts)
}

/// One reference of a service to a secret or config.
struct Ref {
    pos: Pos,
    source: String,
    target: String,
    mode: Option<u32>,
    owner: (u32, u32),
}

fn reference(item: &Node, kind: Kind, errs: &mut Errs) -> Option<Ref> {
    if let Some(name) = item.as_str() {
        let (source, target) = (name.to_owned(), name.to_owned());
        return Some(Ref {
            pos: item.pos,
            source,
            target,
            mode: None,
            owner: (0, 0),
        });
    }
    let Value::Map(entries) = &item.value else {
        errs.push((
            item.pos,
            format!("a `{}` entry is a name or a mapping", kind.key()),
        ));
        return None;
    };
    let (mut source, mut target, mut mode, mut owner) = (None, None, None, (0, 0));
    for (k, v) in entries {
        let number = |errs: &mut Errs| {
            match v.value {
                Value::Int(i) => u32::try_from(i).ok(),
                _ => scalar(v).and_then(|t| t.parse().ok()),
            }
            .or_else(|| {
                errs.push((
                    v.pos,
                    format!("`{}` is a number", k.as_str().unwrap_or_default()),
                ));
                None
            })
        };
        match k.as_str() {
            Some("source") => source = v.as_str().map(str::to_owned),
            Some("target") => target = v.as_str().map(str::to_owned),
            Some("uid") => owner.0 = number(errs).unwrap_or(0),
            Some("gid") => owner.1 = number(errs).unwrap_or(0),
            Some("mode") => mode = file_mode(v, errs),
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
    Some(Ref {
        pos: item.pos,
        source,
        target,
        mode,
        owner,
    })
}

/// A file mode as compose files write it: octal digits (`0440`, `"0440"`,
/// `440`), or a YAML `0o440` whose value has a digit above 7.
fn file_mode(v: &Node, errs: &mut Errs) -> Option<u32> {
    let digits = match &v.value {
        Value::Int(i) => i.to_string(),
        // Some YAML readers give `0400` as a number with a fraction of 0.
        Value::Float(f) if f.fract() == 0.0 && (0.0..=7777.0).contains(f) => format!("{f:.0}"),
        Value::Str(s) => s.trim_start_matches("0o").to_owned(),
        _ => String::new(),
    };
    let parsed = u32::from_str_radix(&digits, 8).ok().or(match v.value {
        Value::Int(i) => u32::try_from(i).ok(),
        _ => None,
    });
    match parsed.filter(|m| *m <= 0o7777) {
        Some(m) => Some(m),
        None => {
            errs.push((v.pos, "`mode` is an octal file mode such as 0440".into()));
            None
        }
    }
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

//! Top-level `include` of a compose project: each entry (a path, a list of
//! paths laid over each other, or `{path, project_directory, env_file}`)
//! read as a project of its own and its services, networks, volumes,
//! secrets and configs added to the including one. A service defined twice
//! or a resource defined differently is an error, as compose-go makes it.

use super::compose_merge as merge;
use super::compose_project::{Assembler, MAX_CHAIN, Sources, Vars, dir_of, join};
use super::node::{Node, Pos, Value};

/// Top-level keys an included file may hold.
const INCLUDED_KEYS: &[&str] = &[
    "services", "networks", "volumes", "secrets", "configs", "include", "name", "version",
];
/// Sections an include adds to the project.
const SECTIONS: &[&str] = &["services", "networks", "volumes", "secrets", "configs"];

impl Assembler<'_> {
    /// One `include` entry of the file `rel`, inlined into `root`.
    pub(super) fn include(
        &mut self,
        rel: &str,
        root: &mut Node,
        entry: &Node,
        vars: &Vars,
        chain: &mut Vec<String>,
        sources: &mut Sources,
    ) {
        let Some((paths, project_dir, env_files)) = self.entry_parts(entry) else {
            return;
        };
        let mut files = Vec::new();
        for p in &paths {
            match self.existing(rel, p, "include") {
                Some(f) => files.push((f, p.pos)),
                None => return,
            }
        }
        let Some((first, first_pos)) = files.first().cloned() else {
            self.fail(entry.pos, "an `include` entry needs `path`".into());
            return;
        };
        if chain.contains(&first) || chain.len() >= MAX_CHAIN {
            self.fail(
                first_pos,
                format!("include cycle: {} → {first}", chain.join(" → ")),
            );
            return;
        }
        let project = match project_dir {
            Some(d) => match self.path_in_repo(rel, d, "project_directory") {
                Some(d) => d,
                None => return,
            },
            None => dir_of(&first).to_owned(),
        };
        let Some(child_vars) = self.include_vars(rel, vars, &project, env_files) else {
            return;
        };
        let Some(node) = self.read_merged(&files, &child_vars, &project) else {
            return;
        };
        chain.push(first.clone());
        let (child, child_sources) = self.project(&first, node, &child_vars, chain);
        chain.pop();
        for name in services_of(&child) {
            let mut from = vec![first.clone()];
            from.extend(child_sources.get(&name).into_iter().flatten().cloned());
            from.dedup();
            from.retain(|f| *f != self.main);
            sources.insert(name, from);
        }
        self.add_sections(root, child, &first);
    }

    /// An `include` entry's paths, `project_directory` and `env_file`;
    /// `None` (an error told) when it has no path or is not a path or map.
    fn entry_parts<'e>(
        &mut self,
        entry: &'e Node,
    ) -> Option<(Vec<Node>, Option<&'e Node>, Option<&'e Node>)> {
        let parts = match &entry.value {
            Value::Str(_) => (vec![entry.clone()], None, None),
            Value::Map(_) => {
                let paths = match entry.get("path") {
                    Some(
                        p @ Node {
                            value: Value::Str(_),
                            ..
                        },
                    ) => vec![p.clone()],
                    Some(Node {
                        value: Value::Seq(items),
                        ..
                    }) => items.clone(),
                    _ => {
                        self.fail(entry.pos, "an `include` entry needs `path`".into());
                        return None;
                    }
                };
                (paths, entry.get("project_directory"), entry.get("env_file"))
            }
            _ => {
                self.fail(
                    entry.pos,
                    "an `include` entry is a path or {path, project_directory, env_file}".into(),
                );
                return None;
            }
        };
        Some(parts)
    }

    /// The included files read (with the included project's variables)
    /// and laid over each other in order; `None` when one failed.
    fn read_merged(&mut self, files: &[(String, Pos)], vars: &Vars, project: &str) -> Option<Node> {
        let mut merged: Option<Node> = None;
        for (f, _) in files {
            let node = self.read(f, vars, project)?;
            self.check_included_keys(&node);
            merged = Some(match merged {
                None => node,
                Some(base) => merge_files(base, node),
            });
        }
        merged
    }

    /// The variables of an included project: the including project's, then
    /// its env files (default: `.env` in its project directory) for names
    /// still unset.
    fn include_vars(
        &mut self,
        rel: &str,
        vars: &Vars,
        project: &str,
        env_files: Option<&Node>,
    ) -> Option<Vars> {
        let mut out = vars.clone();
        let listed: Vec<Node> = match env_files.map(|n| &n.value) {
            None => Vec::new(),
            Some(Value::Seq(items)) => items.clone(),
            Some(_) => env_files.into_iter().cloned().collect(),
        };
        let mut files = Vec::new();
        for n in &listed {
            files.push(self.path_in_repo(rel, n, "env_file")?);
        }
        if listed.is_empty() {
            let default = join(project, ".env");
            if !self.cx.repo.exists(&default) {
                return Some(out);
            }
            files.push(default);
        }
        for f in files {
            let Some(text) = self.cx.text(&f) else {
                self.failed = true;
                return None;
            };
            match super::dotenv::parse(&text) {
                Ok(pairs) => {
                    for (k, v) in pairs {
                        out.entry(k).or_insert(v);
                    }
                }
                Err((pos, message)) => {
                    self.cx.error(&f, pos, message);
                    self.failed = true;
                    return None;
                }
            }
        }
        Some(out)
    }

    fn check_included_keys(&mut self, node: &Node) {
        let Value::Map(top) = &node.value else {
            self.fail(node.pos, "an included compose file is a mapping".into());
            return;
        };
        for (k, _) in top {
            let key = k.as_str().unwrap_or_default();
            if !INCLUDED_KEYS.contains(&key) {
                let msg = super::de::unknown_message("top-level key", key, INCLUDED_KEYS);
                self.fail(k.pos, msg);
            }
        }
    }

    /// The included project's resources added to `root`; a service defined
    /// twice, or a resource defined differently, is an error.
    fn add_sections(&mut self, root: &mut Node, child: Node, from: &str) {
        let Value::Map(top) = child.value else { return };
        for (key, section) in top {
            let Some(name) = key.as_str().filter(|k| SECTIONS.contains(k)) else {
                continue;
            };
            let Value::Map(entries) = section.value else {
                continue;
            };
            let what = name.trim_end_matches('s').to_owned();
            let target = section_mut(root, name, key.pos);
            let mut clashes = Vec::new();
            for (k, v) in entries {
                let id = k.as_str().unwrap_or_default().to_owned();
                match target.iter().find(|(tk, _)| tk.as_str() == Some(&id)) {
                    Some((_, old)) if name == "services" || !same(old, &v) => {
                        clashes.push((v.pos, format!("{what} `{id}` of {from} is already defined in the project (an include adds only new {name})")));
                    }
                    Some(_) => {}
                    None => target.push((k, v)),
                }
            }
            for (pos, msg) in clashes {
                self.fail(pos, msg);
            }
        }
    }
}

/// Files of one include entry: later files laid over earlier ones (their
/// services by compose's rules, the other sections by name).
fn merge_files(base: Node, over: Node) -> Node {
    let mut both = |key: &str, old: Node, new: Node| {
        if key == "services" {
            let mut service = |_: &str, a: Node, b: Node| merge::service(a, b);
            merge::by_key(old, new, false, &mut service).unwrap_or_else(null_at)
        } else {
            merge::merge_maps(old, new, false)
        }
    };
    merge::by_key(base, over, false, &mut both).unwrap_or_else(null_at)
}

/// What a merge of something that is not a mapping leaves: nothing.
fn null_at(n: Node) -> Node {
    Node {
        pos: n.pos,
        value: Value::Null,
    }
}

fn services_of(root: &Node) -> Vec<String> {
    match root.get("services").map(|s| &s.value) {
        Some(Value::Map(entries)) => entries
            .iter()
            .filter_map(|(k, _)| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The entries of top-level section `name` of `root`, created if absent.
fn section_mut<'a>(root: &'a mut Node, name: &str, pos: Pos) -> &'a mut Vec<(Node, Node)> {
    if !matches!(root.value, Value::Map(_)) {
        root.value = Value::Map(Vec::new());
    }
    let Value::Map(top) = &mut root.value else {
        unreachable!()
    };
    let i = match top.iter().position(|(k, _)| k.as_str() == Some(name)) {
        Some(i) => i,
        None => {
            let key = Node {
                pos,
                value: Value::Str(name.to_owned()),
            };
            top.push((
                key,
                Node {
                    pos,
                    value: Value::Map(Vec::new()),
                },
            ));
            top.len() - 1
        }
    };
    if !matches!(top[i].1.value, Value::Map(_)) {
        top[i].1.value = Value::Map(Vec::new());
    }
    match &mut top[i].1.value {
        Value::Map(entries) => entries,
        _ => unreachable!(),
    }
}

/// Equal values, wherever they were written.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        (x, y) => x == y,
    }
}

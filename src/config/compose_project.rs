//! A compose project as one tree: the stack's compose file with its
//! top-level `include` entries inlined and every service's `extends`
//! resolved, as the Compose Specification defines them.
//!
//! Each file is read on its own: positions tagged with the file (so an
//! error inside an included file names that file), interpolated with its
//! variables (an included project's `.env` only fills variables the stack
//! leaves unset, as compose-go merges them), `x-` keys dropped, and its
//! relative paths (binds, `env_file`, `build`, secret and config files)
//! rewritten relative to the stack folder from the file's project
//! directory. Paths must stay inside the repository; cycles are errors at
//! the entry that closes them. What each service was read from is kept, so
//! a plan can name the file behind a change.

use super::Ctx;
use super::compose_merge as merge;
use super::node::{Node, Pos, Value};
use crate::model::inside_folder;
use std::collections::BTreeMap;

/// Variables for interpolation.
pub(super) type Vars = BTreeMap<String, String>;
/// Per service, the files besides the stack's compose file it was read from.
pub(super) type Sources = BTreeMap<String, Vec<String>>;

/// Longest chain of `extends` or nested `include` followed.
pub(super) const MAX_CHAIN: usize = 32;

/// Inlines `include` and resolves `extends` in `root`, the stack's compose
/// file `file` (interpolated, `x-` keys dropped). `None` when any problem
/// was reported.
pub(super) fn assemble(
    cx: &mut Ctx,
    stack_dir: &str,
    file: &str,
    root: Node,
    vars: &Vars,
) -> Option<(Node, Sources)> {
    let mut a = Assembler {
        cx,
        stack_dir: stack_dir.to_owned(),
        main: file.to_owned(),
        failed: false,
    };
    let out = a.project(file, root, vars, &mut vec![file.to_owned()]);
    (!a.failed).then_some(out)
}

/// The state of one assembly: where problems go and whether any did.
pub(super) struct Assembler<'a> {
    pub(super) cx: &'a mut Ctx,
    pub(super) stack_dir: String,
    pub(super) main: String,
    pub(super) failed: bool,
}

impl Assembler<'_> {
    pub(super) fn fail(&mut self, pos: Pos, message: String) {
        self.cx.error(&self.main, pos, message);
        self.failed = true;
    }

    /// One file's project: its services' `extends`, then its includes.
    pub(super) fn project(
        &mut self,
        rel: &str,
        mut root: Node,
        vars: &Vars,
        chain: &mut Vec<String>,
    ) -> (Node, Sources) {
        let mut sources = Sources::new();
        self.extends_all(rel, &mut root, vars, &mut sources);
        let Value::Map(top) = &mut root.value else {
            return (root, sources);
        };
        let Some(i) = top.iter().position(|(k, _)| k.as_str() == Some("include")) else {
            return (root, sources);
        };
        let (_, includes) = top.remove(i);
        let entries = match includes.value {
            Value::Seq(items) => items,
            _ => {
                self.fail(
                    includes.pos,
                    "`include` is a list of files or of {path, project_directory, env_file}".into(),
                );
                return (root, sources);
            }
        };
        for entry in entries {
            self.include(rel, &mut root, &entry, vars, chain, &mut sources);
        }
        (root, sources)
    }

    /// Resolves `extends` of every service of `root` (the file `rel`).
    fn extends_all(&mut self, rel: &str, root: &mut Node, vars: &Vars, sources: &mut Sources) {
        let snapshot = root.clone();
        let Some(Value::Map(services)) = root.get_mut("services").map(|s| &mut s.value) else {
            return;
        };
        for (name, service) in services.iter_mut() {
            let Some(name) = name.as_str() else { continue };
            if service.get("extends").is_none() {
                continue;
            }
            let mut chain = vec![(rel.to_owned(), name.to_owned())];
            let mut files = vec![rel.to_owned()];
            if let Some(done) = self.resolve(rel, &snapshot, name, vars, &mut chain, &mut files) {
                *service = done;
                files.dedup();
                if files != [self.main.clone()] {
                    sources.insert(name.to_owned(), files);
                }
            }
        }
    }

    /// Service `name` of `file_root` (the file `rel`) with its `extends`
    /// chain laid under it.
    fn resolve(
        &mut self,
        rel: &str,
        file_root: &Node,
        name: &str,
        vars: &Vars,
        chain: &mut Vec<(String, String)>,
        files: &mut Vec<String>,
    ) -> Option<Node> {
        let service = file_root.get("services")?.get(name)?;
        let Some(ext) = service.get("extends") else {
            return Some(service.clone());
        };
        let (base_file, base_name) = match (&ext.value, ext.get("service").and_then(Node::as_str)) {
            (Value::Str(s), _) => (None, s.clone()),
            (Value::Map(_), Some(s)) => (ext.get("file"), s.to_owned()),
            _ => {
                self.fail(
                    ext.pos,
                    "`extends` is a service name or {service, file}".into(),
                );
                return None;
            }
        };
        let (base_rel, base_root) = match base_file {
            None => (rel.to_owned(), file_root.clone()),
            Some(f) => {
                let path = self.existing(rel, f, "extends file")?;
                let root = self.read(&path, vars, dir_of(&path))?;
                (path, root)
            }
        };
        let link = (base_rel.clone(), base_name.clone());
        if chain.contains(&link) || chain.len() >= MAX_CHAIN {
            let names: Vec<&str> = chain.iter().map(|(_, s)| s.as_str()).collect();
            let msg = format!("extends cycle: {} → {base_name}", names.join(" → "));
            self.fail(ext.pos, msg);
            return None;
        }
        if base_root
            .get("services")
            .and_then(|s| s.get(&base_name))
            .is_none()
        {
            self.fail(
                ext.pos,
                format!("extends: no service `{base_name}` in {base_rel}"),
            );
            return None;
        }
        chain.push(link);
        files.push(base_rel.clone());
        let base = self.resolve(&base_rel, &base_root, &base_name, vars, chain, files)?;
        Some(merge::service(base, service.clone()))
    }

    /// Reads another compose file of the project (see the module doc).
    pub(super) fn read(&mut self, rel: &str, vars: &Vars, project_dir: &str) -> Option<Node> {
        let Some(mut node) = self.cx.yaml(rel) else {
            self.failed = true;
            return None;
        };
        let id = self.cx.origin(rel);
        stamp(&mut node, id);
        let mut problems = Vec::new();
        super::interpolate::interpolate(&mut node, &|k| vars.get(k).cloned(), &mut problems);
        super::interpolate::check_secret_placement(&node, &mut problems);
        if let Some(x) = node.get("x-tend") {
            problems.push((
                x.pos,
                "`x-tend` is read from the stack's own compose file only".into(),
            ));
        }
        for (pos, message) in problems {
            self.fail(pos, message);
        }
        super::compose::strip_extensions(&mut node);
        if let Value::Map(top) = &mut node.value {
            top.retain(|(k, _)| k.as_str() != Some("x-tend"));
        }
        let base = relative(&self.stack_dir, project_dir);
        super::compose_rebase::rebase(&mut node, &base);
        Some(node)
    }

    /// [`Self::path_in_repo`] of a file that must exist.
    pub(super) fn existing(&mut self, rel: &str, p: &Node, what: &str) -> Option<String> {
        let path = self.path_in_repo(rel, p, what)?;
        if self.cx.repo.exists(&path) {
            return Some(path);
        }
        let text = p.as_str().unwrap_or_default();
        self.fail(p.pos, format!("{what} `{text}` does not exist (`{path}`)"));
        None
    }

    /// `p` (a node of the file `rel`) as a repository path, relative to
    /// that file's folder; `None` after reporting one that leaves it.
    pub(super) fn path_in_repo(&mut self, rel: &str, p: &Node, what: &str) -> Option<String> {
        let Some(text) = p.as_str() else {
            self.fail(
                p.pos,
                format!("{what}: expected a path, found {}", p.value.kind()),
            );
            return None;
        };
        if text.starts_with('/') {
            self.fail(p.pos, format!("{what} `{text}` is absolute; paths are relative to the file that names them, inside the repository"));
            return None;
        }
        match inside_folder(&join(dir_of(rel), text)) {
            Some(path) => Some(path),
            None => {
                self.fail(
                    p.pos,
                    format!("{what} `{text}` leaves the repository (`..` past its root)"),
                );
                None
            }
        }
    }
}

/// Tags every position of `node` with file number `id`.
pub(super) fn stamp(node: &mut Node, id: u16) {
    node.pos.file = id;
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| stamp(n, id)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            stamp(k, id);
            stamp(v, id);
        }),
        _ => {}
    }
}

/// The folder of a repository path (`""` at the root).
pub(super) fn dir_of(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(d, _)| d)
}

pub(super) fn join(dir: &str, p: &str) -> String {
    if dir.is_empty() {
        p.to_owned()
    } else {
        format!("{dir}/{p}")
    }
}

/// The path from folder `from` to folder `to` (both repository paths).
fn relative(from: &str, to: &str) -> String {
    let a: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let b: Vec<&str> = to.split('/').filter(|s| !s.is_empty()).collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts = vec![".."; a.len() - common];
    parts.extend(&b[common..]);
    parts.join("/")
}

#[cfg(test)]
mod tests {
    #[test]
    fn relative_paths_between_folders() {
        assert_eq!(super::relative("stacks/web", "stacks/web"), "");
        assert_eq!(
            super::relative("stacks/web", "stacks/web/compose/hs"),
            "compose/hs"
        );
        assert_eq!(super::relative("stacks/web", "common"), "../../common");
    }
}

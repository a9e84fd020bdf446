//! Where each stack's relative binds live, for one pass: the daemon's
//! persistent working directories (`DATA/stacks/<host>/<stack>`, tracked
//! files scanned once per commit) or, for `tend plan`/`tend apply`, the
//! stack folders of the config folder itself, as compose uses its project
//! directory. Renders the commit's stacks against them and observes what
//! each working directory needs.

use super::StacksError;
use crate::model::{Desired, Stack, Unbound};
use crate::plan::Target;
use crate::plan::render::{Bound, BoundAs, render_all};
use crate::workdir::{self, Tracked, WorkDir};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where relative binds resolve.
pub enum Layout {
    /// Into the stack folders of the config folder (the CLI).
    Folder,
    /// Into working directories under a data folder (the daemon).
    Work(Works),
}

/// The daemon's working directories and the tracked files of the commit
/// in force, scanned once per stack and commit.
pub struct Works {
    root: PathBuf,
    commit: String,
    scans: HashMap<String, Result<Arc<Tracked>, StacksError>>,
}

impl Works {
    /// Working directories under `root` (`root/<host>/<stack>`).
    pub fn new(root: &Path) -> Self {
        Works {
            root: root.to_owned(),
            commit: String::new(),
            scans: HashMap::new(),
        }
    }

    /// The working directory of `stack`.
    pub fn dir(&self, stack: &Stack) -> WorkDir {
        self.dir_of(&stack.host, &stack.name)
    }

    /// The working directory of stack `name` on `host` (also of a stack no
    /// longer in the commit).
    pub fn dir_of(&self, host: &str, name: &str) -> WorkDir {
        WorkDir::under(&self.root, host, name)
    }

    /// Reads the tracked files of each stack of `commit` (once per commit:
    /// passes on the same commit reuse the scan, as the snapshot of a
    /// commit never changes).
    fn scan(&mut self, commit: &str, root: &Path, stacks: &[Stack]) {
        if self.commit != commit {
            self.commit = commit.to_owned();
            self.scans.clear();
        }
        for s in stacks {
            self.scans.entry(s.name.clone()).or_insert_with(|| {
                let dir = root.join(s.file.parent().unwrap_or(Path::new("")));
                workdir::scan(&dir)
                    .map(Arc::new)
                    .map_err(|e| StacksError::WorkDir(e.to_string()))
            });
        }
    }
}

/// A stack's working directory and the tracked files to place in it.
#[derive(Clone)]
pub struct StackWork {
    /// The folder and its manifest.
    pub dir: WorkDir,
    /// The commit's tracked files (empty in folder mode).
    pub tracked: Arc<Tracked>,
    /// On an engine tend reaches only through its API: bind folders are
    /// volumes filled through it (see [`workdir::remote`]).
    pub remote: bool,
}

impl Layout {
    /// The daemon's working directory of stack `name` on `host`; `None` in
    /// folder mode.
    pub fn dir_of(&self, host: &str, name: &str) -> Option<WorkDir> {
        match self {
            Layout::Folder => None,
            Layout::Work(w) => Some(w.dir_of(host, name)),
        }
    }

    /// Renders `desired`'s stacks of commit `commit` (files in `root`) and
    /// fills each target's working directory changes; returns the targets
    /// and each stack's working directory.
    pub fn render(
        &mut self,
        desired: &Desired,
        root: &Path,
        commit: &str,
    ) -> (Vec<Target>, HashMap<String, StackWork>) {
        let ring =
            crate::sops::Keyring::host(desired.settings.age_key.as_deref()).unwrap_or_default();
        // Each SOPS file is opened once per render (one age unwrap), however
        // many of its values the services use.
        let opened = std::cell::RefCell::new(HashMap::new());
        let unseal = |p: &Path, name: &str| {
            let mut cache = opened.borrow_mut();
            let file = cache
                .entry(p.to_owned())
                .or_insert_with(|| ring.open_file(p));
            let file = file.as_ref().map_err(|e| e.to_string())?;
            ring.value(file, name).map_err(|e| e.to_string())
        };
        let from = crate::model::secret::Sources {
            sops: &unseal,
            ..crate::model::secret::Sources::host()
        };
        if let Layout::Work(w) = self {
            w.scan(commit, root, &desired.stacks);
        }
        let layout = &*self;
        let bind = |stack: &Stack, rel: &str| -> Result<Bound, Unbound> {
            let work = layout
                .work(stack, root, desired)
                .map_err(|e| Unbound(e.to_string()))?;
            let files = work.tracked.digest_under(rel, &stack.host_owned);
            let mount = match work.tracked.files.get(rel) {
                _ if !work.remote => BoundAs::Path(work.dir.root.join(rel)),
                Some(f) => BoundAs::CopyIn(f.source.clone()),
                None => BoundAs::Volume(workdir::remote::volume_key(rel)),
            };
            Ok(Bound { mount, files })
        };
        let mut targets = render_all(&desired.stacks, root, &from, &bind);
        for t in &mut targets {
            build_contexts(t, root);
        }
        let mut works = HashMap::new();
        for (t, stack) in targets.iter_mut().zip(&desired.stacks) {
            let work = match self.work(stack, root, desired) {
                Ok(w) => w,
                Err(e) => {
                    t.error.get_or_insert(e.to_string());
                    continue;
                }
            };
            t.workdir = Some(work.dir.root.clone());
            if t.error.is_none() {
                let files = if work.remote {
                    work.dir.manifest().map(|m| {
                        workdir::remote::diff(&work.tracked, &m, &stack.host_owned, &t.binds)
                    })
                } else {
                    workdir::diff(&work.tracked, &work.dir, &stack.host_owned, &t.binds)
                };
                match files {
                    Ok(files) => t.files = files,
                    Err(e) => t.error = Some(format!("working directory: {e}")),
                }
            }
            works.insert(stack.name.clone(), work);
        }
        (targets, works)
    }

    /// The working directory of `stack` and its tracked files.
    fn work(
        &self,
        stack: &Stack,
        root: &Path,
        desired: &Desired,
    ) -> Result<StackWork, StacksError> {
        match self {
            Layout::Folder => {
                let dir = root.join(stack.file.parent().unwrap_or(Path::new("")));
                Ok(StackWork {
                    dir: WorkDir::folder(dir),
                    tracked: Arc::default(),
                    remote: false,
                })
            }
            Layout::Work(w) => {
                let tracked = w
                    .scans
                    .get(&stack.name)
                    .cloned()
                    .unwrap_or_else(|| Err(StacksError::NotScanned(stack.name.clone())))?;
                let remote = desired
                    .hosts
                    .get(&stack.host)
                    .is_some_and(|h| !h.docker.starts_with("unix://"));
                Ok(StackWork {
                    dir: w.dir(stack),
                    tracked,
                    remote,
                })
            }
        }
    }
}

/// The context digest of each built service of `t` (an unreadable context
/// is the stack's error). The digest goes into the service's hash, so a
/// changed context rebuilds and recreates that service only.
fn build_contexts(t: &mut crate::plan::Target, root: &Path) {
    for (name, s) in &mut t.services {
        let Some(b) = s.spec.build.clone() else {
            continue;
        };
        let dir = root.join(&b.context);
        match crate::docker::context::digest(&dir, crate::docker::build::dockerfile(&b)) {
            Ok(files) => s.set_build(dir, &files),
            Err(e) => {
                t.error.get_or_insert(format!("service {name}: {e}"));
            }
        }
    }
}

//! One stacks pass: render the commit's stacks, observe their hosts (each
//! with its own time limit, so an unreachable engine only makes its own
//! stacks `unknown`), plan, and apply what the caller lets through. Shared
//! by `tend plan`, `tend apply` and the daemon.

use crate::docker::apply::{Step, apply_stack};
use crate::docker::{Engine, observe::observe};
use crate::model::{Desired, Host, Unobserved};
use crate::plan::{Change, Plan, StackPlan, Target};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Time limit of observing one host.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Connected engines, kept between passes and dropped when they fail.
pub struct Engines {
    tls_dir: PathBuf,
    cache: HashMap<String, (Host, Engine)>,
}

impl Engines {
    /// No connections yet; TLS material from `${env:…}` goes to `tls_dir`.
    pub fn new(tls_dir: PathBuf) -> Self {
        Engines {
            tls_dir,
            cache: HashMap::new(),
        }
    }

    /// The engine of host `name`, connecting if needed.
    pub async fn get(&mut self, name: &str, host: &Host) -> Result<Engine, Unobserved> {
        if let Some((h, e)) = self.cache.get(name)
            && h == host
        {
            return Ok(e.clone());
        }
        let e = Engine::connect(name, host, &self.tls_dir)
            .await
            .map_err(|e| Unobserved::Unreachable {
                docker: host.docker.clone(),
                cause: e.to_string(),
            })?;
        self.cache
            .insert(name.to_owned(), (host.clone(), e.clone()));
        Ok(e)
    }

    /// Forgets a host's connection (after an error).
    pub fn drop_host(&mut self, name: &str) {
        self.cache.remove(name);
    }

    /// Mutating calls made through all cached engines.
    pub fn mutations(&self) -> u64 {
        self.cache.values().map(|(_, e)| e.mutations()).sum()
    }
}

/// Rendered stacks and observed hosts.
pub struct Observation {
    /// The commit's stacks, rendered.
    pub targets: Vec<Target>,
    /// Host name → observed state or why not.
    pub hosts: BTreeMap<String, crate::model::Observed>,
    /// Engines that answered.
    pub engines: BTreeMap<String, Engine>,
    /// Each stack's working directory and tracked files.
    pub works: HashMap<String, super::work::StackWork>,
}

/// Renders `desired`'s stacks of `commit` from `dir` and observes their
/// hosts and `extra` hosts. Relative bind sources resolve as `layout` says:
/// working directories (the daemon) or the folder itself (the CLI).
pub async fn observe_all(
    desired: &Desired,
    dir: &Path,
    commit: &str,
    engines: &mut Engines,
    extra: &BTreeSet<String>,
    layout: &mut super::work::Layout,
) -> Observation {
    let (targets, works) = layout.render(desired, dir, commit);
    // Hosts with stacks, hosts declared by name (leftovers there can be
    // pruned), and hosts that held managed containers before (`extra`).
    let mut names: BTreeSet<String> = targets.iter().map(|t| t.host.clone()).collect();
    names.extend(desired.hosts.keys().filter(|h| *h != "local").cloned());
    names.extend(
        extra
            .iter()
            .filter(|h| desired.hosts.contains_key(*h))
            .cloned(),
    );
    let mut set = tokio::task::JoinSet::new();
    let mut hosts = BTreeMap::new();
    let mut found = BTreeMap::new();
    for name in names {
        let Some(host) = desired.hosts.get(&name) else {
            hosts.insert(name.clone(), Err(Unobserved::NotDeclared(name.clone())));
            continue;
        };
        let engine = match engines.get(&name, host).await {
            Ok(e) => e,
            Err(e) => {
                hosts.insert(name, Err(e));
                continue;
            }
        };
        let images: BTreeSet<String> = targets
            .iter()
            .filter(|t| t.host == name)
            .flat_map(|t| t.services.values().map(|s| s.spec.image.clone()))
            .collect();
        set.spawn(async move {
            let seen = tokio::time::timeout(OBSERVE_TIMEOUT, observe(&engine, &images)).await;
            let seen = match seen {
                Ok(r) => r.map_err(|e| Unobserved::Engine(e.to_string())),
                Err(_) => Err(Unobserved::Timeout(OBSERVE_TIMEOUT.as_secs())),
            };
            (name, engine, seen)
        });
    }
    while let Some(Ok((name, engine, seen))) = set.join_next().await {
        if seen.is_err() {
            engines.drop_host(&name);
        } else {
            found.insert(name.clone(), engine);
        }
        hosts.insert(name, seen);
    }
    Observation {
        targets,
        hosts,
        engines: found,
        works,
    }
}

/// The result of applying one stack's plan.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Stack name.
    pub stack: String,
    /// Host name.
    pub host: String,
    /// Each change and its error, if any.
    pub steps: Vec<Step>,
}

impl Outcome {
    /// Whether every step worked.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(|s| s.error.is_none())
    }
}

/// Applies the changes of `plan` that `keep` lets through, stacks in parallel.
pub async fn apply(
    plan: &Plan,
    obs: &Observation,
    commit: &str,
    keep: &(dyn Fn(&StackPlan, &Change) -> bool + Sync),
) -> Vec<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for sp in &plan.stacks {
        let changes = sp.changes.iter().filter(|c| keep(sp, c)).cloned().collect();
        let sp = StackPlan {
            changes,
            ..sp.clone()
        };
        let (Some(engine), Some(Ok(host))) = (obs.engines.get(&sp.host), obs.hosts.get(&sp.host))
        else {
            continue;
        };
        if sp.changes.is_empty() {
            continue;
        }
        let target = obs
            .targets
            .iter()
            .find(|t| t.name == sp.stack && t.host == sp.host && !sp.leftover)
            .cloned();
        let work = obs.works.get(&sp.stack).filter(|_| !sp.leftover).cloned();
        let (engine, host, commit) = (engine.clone(), host.clone(), commit.to_owned());
        set.spawn(async move {
            let (files, sp) = split_files(sp);
            let mut steps = match (&work, &target) {
                (Some(w), Some(t)) if w.remote => {
                    super::remote::place_files(&engine, t, w, files).await
                }
                _ => place_files(work, files).await,
            };
            if steps.iter().any(|s| s.error.is_some()) {
                let why = "skipped: the working directory could not be brought in line";
                steps.extend(sp.changes.iter().map(|c| Step {
                    change: c.clone(),
                    error: Some(why.into()),
                    output: Vec::new(),
                }));
            } else if !sp.changes.is_empty() {
                steps.extend(apply_stack(&engine, &sp, target.as_ref(), &host, &commit).await);
            }
            Outcome {
                stack: sp.stack,
                host: sp.host,
                steps,
            }
        });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        match done {
            Ok(a) => out.push(a),
            Err(e) => tracing::error!(cause = %e, "an apply task failed"),
        }
    }
    out.sort_by(|a, b| (&a.stack, &a.host).cmp(&(&b.stack, &b.host)));
    out
}

/// The working directory's changes, and the plan without them.
fn split_files(sp: StackPlan) -> (Vec<Change>, StackPlan) {
    let (files, changes) = sp.changes.iter().cloned().partition(|c| c.action.is_file());
    (files, StackPlan { changes, ..sp })
}

/// Carries out file changes in the stack's working directory.
async fn place_files(work: Option<super::work::StackWork>, files: Vec<Change>) -> Vec<Step> {
    use crate::model::{FileChange, FileKind};
    if files.is_empty() {
        return Vec::new();
    }
    let Some(work) = work else {
        let error = Some("the stack has no working directory".to_owned());
        return files
            .into_iter()
            .map(|change| Step {
                change,
                error: error.clone(),
                output: Vec::new(),
            })
            .collect();
    };
    let asked: Vec<FileChange> = files
        .iter()
        .map(|c| FileChange {
            kind: c.action.file_kind().unwrap_or(FileKind::Place),
            path: c.target.clone(),
            reason: c.reason.clone(),
        })
        .collect();
    let done = tokio::task::spawn_blocking(move || {
        crate::workdir::sync::apply(&work.tracked, &work.dir, &asked)
    })
    .await;
    match done {
        Ok(outcomes) => files
            .into_iter()
            .zip(outcomes)
            .map(|(change, (_, r))| Step {
                change,
                error: r.err().map(|e| e.to_string()),
                output: Vec::new(),
            })
            .collect(),
        Err(e) => files
            .into_iter()
            .map(|change| Step {
                change,
                error: Some(format!("placing files failed: {e}")),
                output: Vec::new(),
            })
            .collect(),
    }
}

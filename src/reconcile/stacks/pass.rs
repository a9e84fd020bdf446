//! One stacks pass: render the commit's stacks, observe their hosts (each
//! with its own time limit, so an unreachable engine only makes its own
//! stacks `unknown`), plan, and apply what the caller lets through. Shared
//! by `tend plan`, `tend apply` and the daemon.
//!
//! Observing and applying go through [`Hosts`], so the same code runs
//! against the real engines and, in the controller's tests, against fake
//! hosts. A host that cannot be observed makes its stacks `unknown` and is
//! left alone: nothing is applied on a host whose state is not known, so a
//! network outage can never look like "every container is gone".

use super::hosts::{Hosts, Look, Owned, Work, failed};
use crate::docker::apply::Step;
use crate::model::Settings;
use crate::model::{Desired, Unobserved};
use crate::plan::{Change, Context, Heal, Holds, Plan, StackPlan, Target};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

/// Rendered stacks and observed hosts.
pub struct Observation {
    /// The commit's stacks, rendered.
    pub targets: Vec<Target>,
    /// Host name → observed state or why not.
    pub hosts: BTreeMap<String, crate::model::Observed>,
    /// Each stack's working directory and tracked files.
    pub works: HashMap<String, super::work::StackWork>,
}

/// Renders `desired`'s stacks of `commit` from `dir` and observes their
/// hosts and `extra` hosts. Relative bind sources resolve as `layout` says:
/// working directories (the daemon) or the folder itself (the CLI).
pub async fn observe_all<H: Hosts>(
    desired: &Desired,
    dir: &Path,
    commit: &str,
    engines: &mut H,
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
    let mut hosts = BTreeMap::new();
    let mut looks = Vec::new();
    for name in names {
        let Some(host) = desired.hosts.get(&name) else {
            hosts.insert(name.clone(), Err(Unobserved::NotDeclared(name.clone())));
            continue;
        };
        let images = targets
            .iter()
            .filter(|t| t.host == name)
            .flat_map(|t| t.services.values().map(|s| s.spec.image.clone()))
            .collect();
        let host = host.clone();
        looks.push(Look { name, host, images });
    }
    hosts.extend(engines.observe(looks).await);
    Observation {
        targets,
        hosts,
        works,
    }
}

/// What a pass knows beyond the commit and the observation: the holds of
/// stack jobs, the services deployed before, and whose drift to heal. The
/// daemon keeps the first two in its store and decides the third by
/// self-heal and the brake; `tend plan`/`tend apply`, which run without
/// the daemon's store, know [`Known::nothing`] and heal all drift.
pub struct Known<'a> {
    /// Services held stopped or paused by stack jobs.
    pub holds: &'a Holds,
    /// `(stack, service)` pairs deployed before.
    pub deployed: &'a BTreeSet<(String, String)>,
    /// Whose drift the plan heals.
    pub heal: Heal<'a>,
}

/// No holds (what the CLI knows of the daemon's stack jobs).
static NO_HOLDS: Holds = Holds::new();
/// No services deployed before.
static NOT_DEPLOYED: BTreeSet<(String, String)> = BTreeSet::new();

impl Known<'static> {
    /// What the CLI knows: no holds, no deployed services; all drift healed.
    pub fn nothing() -> Known<'static> {
        Known {
            holds: &NO_HOLDS,
            deployed: &NOT_DEPLOYED,
            heal: Heal::All,
        }
    }
}

/// The plan of one pass: `obs` against the commit `commit` with its
/// `settings` (`prune`), at `now` (sleep windows), with what is `known`.
/// The daemon's passes and `tend plan`/`tend apply` plan through this one
/// function, so what the CLI shows is what a pass with the same knowledge
/// executes.
pub fn plan(
    obs: &Observation,
    commit: &str,
    settings: &Settings,
    now: DateTime<Utc>,
    known: &Known,
) -> Plan {
    let cx = Context {
        commit,
        prune: settings.prune,
        now,
        holds: known.holds,
        deployed: known.deployed,
        heal: known.heal,
    };
    crate::plan::plan(&obs.targets, &obs.hosts, &cx)
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

/// Applies the changes of `plan` (its held drift stays held), stacks in
/// parallel: the working directory first, then (when it is in line) the
/// engine's changes.
pub async fn apply<H: Hosts>(
    hosts: &H,
    plan: &Plan,
    obs: &Observation,
    commit: &str,
) -> Vec<Outcome> {
    let mut set = tokio::task::JoinSet::new();
    for sp in &plan.stacks {
        let sp = sp.clone();
        let Some(Ok(seen)) = obs.hosts.get(&sp.host) else {
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
        let (files, sp) = split_files(sp);
        let placing: Owned<Vec<Step>> = match (&work, &target) {
            (Some(w), Some(t)) if w.remote => {
                hosts.place_remote(&sp.host, t.clone(), w.clone(), files)
            }
            _ => Box::pin(place_files(work, files)),
        };
        let (stack, host) = (sp.stack.clone(), sp.host.clone());
        let changes = sp.changes.clone();
        let engine = (!sp.changes.is_empty()).then(|| {
            let (seen, commit) = (seen.clone(), commit.to_owned());
            hosts.apply(
                &host,
                Work {
                    plan: sp,
                    target,
                    seen,
                    commit,
                },
            )
        });
        set.spawn(async move {
            let mut steps = placing.await;
            if steps.iter().any(|s| s.error.is_some()) {
                let why = "skipped: the working directory could not be brought in line";
                steps.extend(failed(changes, why));
            } else if let Some(engine) = engine {
                steps.extend(engine.await);
            }
            Outcome { stack, host, steps }
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

/// The working directory's changes, and the plan without them (files go
/// first: a container must never start on a half-placed folder).
fn split_files(sp: StackPlan) -> (Vec<Change>, StackPlan) {
    let (files, changes) = sp.changes.iter().cloned().partition(|c| c.action.is_file());
    (files, StackPlan { changes, ..sp })
}

/// Carries out file changes in the stack's working directory, on the
/// blocking pool. Only tracked files are placed or removed: what a
/// container wrote beside them is never touched (see `workdir::sync`).
async fn place_files(work: Option<super::work::StackWork>, files: Vec<Change>) -> Vec<Step> {
    use crate::model::{FileChange, FileKind};
    if files.is_empty() {
        return Vec::new();
    }
    let Some(work) = work else {
        return failed(files, "the stack has no working directory");
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
        Err(e) => failed(files, &format!("placing files failed: {e}")),
    }
}

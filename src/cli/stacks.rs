//! `tend plan` and `tend apply`: one stacks pass against the live Docker
//! hosts of a config folder, without a daemon or a store.

use super::{Format, out};
use anyhow::Result;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use tend::config::{self, LoadError};
use tend::model::Settings;
use tend::plan::{Plan, Sync};
use tend::reconcile::stacks::engines::Engines;
use tend::reconcile::stacks::pass::{self, Observation};
use tend::reconcile::stacks::work::Layout;

/// Arguments of `tend plan` and `tend apply`.
#[derive(clap::Args)]
pub struct StacksArgs {
    /// The config repository folder.
    #[arg(default_value = ".")]
    pub dir: std::path::PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Act as if it were this instant (RFC 3339), e.g. to preview sleep windows.
    #[arg(long)]
    pub at: Option<DateTime<Utc>>,
}

/// Loads, observes and plans; `Err(code)` when the folder is invalid.
async fn prepare(
    dir: &Path,
    at: DateTime<Utc>,
    engines: &mut Engines,
) -> Result<Result<(Observation, Plan, std::time::Duration), ExitCode>> {
    let desired = match config::load(dir, at) {
        Ok(d) => d,
        Err(LoadError::Invalid(report)) => {
            return Ok(Err(out(&report.render(), ExitCode::from(1))));
        }
        Err(e) => return Err(e.into()),
    };
    let t = std::time::Instant::now();
    let commit = commit_of(dir);
    let mut layout = Layout::Folder;
    let obs = pass::observe_all(
        &desired,
        dir,
        &commit,
        engines,
        &BTreeSet::new(),
        &mut layout,
    )
    .await;
    let observed = t.elapsed();
    let plan = plan_of(&obs, dir, &desired.settings, at);
    tracing::debug!(?observed, planned = ?(t.elapsed() - observed), "observed and planned");
    Ok(Ok((obs, plan, t.elapsed())))
}

/// The plan of `obs` as a daemon's pass would make it, but for what only
/// the daemon knows (its stack jobs' holds, the services it deployed, the
/// brake): none of those here, and all drift healed, as `tend apply` does.
fn plan_of(obs: &Observation, dir: &Path, settings: &Settings, at: DateTime<Utc>) -> Plan {
    pass::plan(obs, &commit_of(dir), settings, at, &pass::Known::nothing())
}

/// The HEAD commit when `dir` is in a git repository, else `working-tree`.
fn commit_of(dir: &Path) -> String {
    git2::Repository::discover(dir)
        .ok()
        .and_then(|r| r.head().ok()?.target())
        .map_or_else(|| "working-tree".to_owned(), |id| id.to_string())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `tend plan`: exit 0 in sync, 2 changes pending, 1 error.
pub fn plan(dir: &Path, format: Format, at: DateTime<Utc>) -> Result<ExitCode> {
    let dir = &std::path::absolute(dir)?;
    runtime()?.block_on(async {
        let mut engines = Engines::new(std::env::temp_dir().join("tend-tls"));
        let (_, plan, _) = match prepare(dir, at, &mut engines).await? {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        let code = if plan.has_errors() {
            1
        } else if plan.is_empty() {
            0
        } else {
            2
        };
        let text = match format {
            Format::Human => plan.to_string(),
            Format::Json => format!("{}\n", serde_json::to_string_pretty(&plan)?),
        };
        Ok(out(&text, ExitCode::from(code)))
    })
}

/// `tend apply`: one reconcile; exit 0 when everything ends in sync.
pub fn apply(dir: &Path, format: Format, at: DateTime<Utc>) -> Result<ExitCode> {
    // Bind sources are made absolute from it: the engine takes no relative path.
    let dir = &std::path::absolute(dir)?;
    let human = matches!(format, Format::Human);
    runtime()?.block_on(async {
        let mut engines = Engines::new(std::env::temp_dir().join("tend-tls"));
        let (obs, plan, planning) = match prepare(dir, at, &mut engines).await? {
            Ok(p) => p,
            Err(code) => return Ok(code),
        };
        if human {
            print!("{plan}");
        }
        let started = std::time::Instant::now();
        let applied = pass::apply(&engines, &plan, &obs, &commit_of(dir)).await;
        if human {
            print_steps(&applied);
        }
        let elapsed = started.elapsed();
        let mutations = engines.mutations();
        let after = if applied.is_empty() {
            // Nothing was applied: the world is as planned.
            plan.clone()
        } else {
            replan(dir, at, &mut engines).await
        };
        let failed = applied.iter().any(|a| !a.ok());
        let settled = after.stacks.iter().all(|s| s.sync() == Sync::Synced);
        let text = if human {
            summary(&after, plan.len(), mutations, elapsed)
        } else {
            let report = json!({
                "plan": plan,
                "applied": applied,
                "mutating_calls": mutations,
                "seconds": elapsed.as_secs_f64(),
                "observe_and_plan_seconds": planning.as_secs_f64(),
                "after": after,
            });
            format!("{}\n", serde_json::to_string_pretty(&report)?)
        };
        Ok(out(
            &text,
            ExitCode::from(if failed || !settled { 1 } else { 0 }),
        ))
    })
}

/// Each step of `applied`: done or failed, with its output.
fn print_steps(applied: &[pass::Outcome]) {
    for a in applied {
        for s in &a.steps {
            let (sign, verb) = s.change.action.describe();
            match &s.error {
                None => println!("{}: {sign} {verb} {}: done", a.stack, s.change.target),
                Some(e) => println!(
                    "{}: {sign} {verb} {}: FAILED: {e}",
                    a.stack, s.change.target
                ),
            }
            for line in &s.output {
                println!("    | {line}");
            }
        }
    }
}

/// The plan after applying: the folder observed again (empty when it no
/// longer loads).
async fn replan(dir: &Path, at: DateTime<Utc>, engines: &mut Engines) -> Plan {
    let Ok(d) = config::load(dir, at) else {
        return Plan::default();
    };
    let (commit, mut layout) = (commit_of(dir), Layout::Folder);
    let extra = BTreeSet::new();
    let obs = pass::observe_all(&d, dir, &commit, engines, &extra, &mut layout).await;
    plan_of(&obs, dir, &d.settings, at)
}

/// The human summary: each stack not in sync and why, then the figures.
fn summary(after: &Plan, planned: usize, mutations: u64, elapsed: std::time::Duration) -> String {
    let mut t = String::new();
    for s in after.stacks.iter().filter(|s| s.sync() != Sync::Synced) {
        let why = s.error.clone().unwrap_or_else(|| {
            format!(
                "{} change(s) left, failing: {}",
                s.changes.len(),
                s.failing.join(", ")
            )
        });
        t += &format!("stack {} is not in sync: {why}\n", s.stack);
    }
    t + &format!(
        "applied {planned} change(s) in {:.2}s with {mutations} mutating API call(s)\n",
        elapsed.as_secs_f64()
    )
}

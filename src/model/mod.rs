//! Domain types: what a validated config repository asks for ([`Desired`]),
//! its jobs, stacks, hosts and notification rules.
//!
//! Pure data. `config` builds these from files; later stages (plan, runner,
//! reconcile) only ever read them. The small policy enums derive serde and
//! schemars so the config files and the JSON Schemas use the same words.

use crate::schedule::Schedule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A commit id shortened to 7 characters for reasons, logs and pages;
/// anything that is not a long hex id stays whole.
pub fn short_commit(commit: &str) -> &str {
    if commit.len() > 7 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        &commit[..7]
    } else {
        commit
    }
}

/// Everything one commit of a config repository asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    /// Settings from `tend.toml`, defaults filled in.
    pub settings: Settings,
    /// Docker hosts by name; `local` always exists.
    pub hosts: BTreeMap<String, Host>,
    /// Notification rules, in file order.
    pub notify: Vec<NotifyRule>,
    /// Jobs, sorted by name.
    pub jobs: Vec<Job>,
    /// Stacks, sorted by name.
    pub stacks: Vec<Stack>,
    /// Warnings of the validation (`tend check` prints them).
    pub notes: Vec<status::Diagnostic>,
}

impl Desired {
    /// The names of the jobs, in order.
    pub fn job_names(&self) -> Vec<String> {
        self.jobs.iter().map(|j| j.name.clone()).collect()
    }
}

/// The commit in force: its id, its files on disk, what it declares.
#[derive(Debug, Clone)]
pub struct Applied {
    /// Commit id (or folder digest in dev mode).
    pub commit: String,
    /// Snapshot folder jobs run in.
    pub dir: PathBuf,
    /// What it declares.
    pub desired: std::sync::Arc<Desired>,
}

/// Repository-wide settings (`[defaults]` and `[reconcile]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Time zone of jobs that name none.
    pub timezone: chrono_tz::Tz,
    /// Time limit of a job run.
    pub timeout: Duration,
    /// Concurrency policy of jobs that name none.
    pub concurrency: Concurrency,
    /// Missed-run policy of jobs that name none.
    pub missed: Missed,
    /// Fire times older than this are never caught up.
    pub missed_window: Duration,
    /// Interval of the full drift check.
    pub reconcile_interval: Duration,
    /// Put back what someone changed by hand.
    pub self_heal: bool,
    /// Remove containers of stacks that are gone from the repository.
    pub prune: bool,
    /// Base URL of the status page for links in alerts (no trailing `/`).
    pub public_url: Option<String>,
    /// `[vars]`: interpolation variables of every stack.
    pub vars: BTreeMap<String, String>,
    /// `[secrets] age_key`: the reference (`${file:…}`/`${env:…}`) holding
    /// the age identities that open SOPS files; `None`: SOPS's own
    /// `SOPS_AGE_KEY`/`SOPS_AGE_KEY_FILE`.
    pub age_key: Option<String>,
}

/// What to do when a job is due while its previous run is still going.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    /// Run both.
    Allow,
    /// Skip the new run and record it as `skipped`.
    Forbid,
    /// Stop the running one, then start the new one.
    Replace,
}

/// What to do with fire times missed while tend was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Missed {
    /// Run nothing; wait for the next fire time.
    Skip,
    /// Run once for all missed fire times.
    RunOnce,
    /// Run once per missed fire time.
    RunAll,
}

/// A Docker engine tend manages stacks on.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// Engine address: `unix:///path`, `tcp://host:port` or `ssh://user@host`.
    pub docker: String,
    /// TLS material for `tcp://`, as secret references or literal paths.
    pub tls: Option<Tls>,
    /// `[hosts.NAME.vars]`: interpolation variables of its stacks.
    pub vars: BTreeMap<String, String>,
}

/// TLS client settings of a Docker host; values may be `${file:…}` references.
#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    /// CA certificate.
    pub ca: Option<String>,
    /// Client certificate.
    pub cert: Option<String>,
    /// Client key.
    pub key: Option<String>,
}

/// Kinds of event a notification rule can subscribe to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// A job run failed or timed out.
    Failure,
    /// The first success after failures.
    Recovery,
    /// A commit was rejected as invalid.
    ConfigError,
    /// Something running differs from the repository.
    Drift,
    /// Applying a stack change failed.
    ApplyFailed,
    /// A stack is degraded (exited, unhealthy, or self-heal gave up).
    Degraded,
    /// A stack's health check reports unhealthy.
    StackUnhealthy,
    /// A missed run was caught up or skipped.
    Missed,
}

/// Where to send which events.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyRule {
    /// Apprise-style URL; may hold `${env:…}`/`${file:…}` references.
    pub url: String,
    /// Events this rule sends.
    pub on: Vec<EventKind>,
    /// Least time between alerts about one ongoing problem.
    pub repeat: Duration,
}

/// A scheduled (or manually triggered) job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Unique name.
    pub name: String,
    /// When it fires; `None` runs only when triggered by hand.
    pub schedule: Option<Schedule>,
    /// What it runs.
    pub kind: JobKind,
    /// Time limit of one attempt.
    pub timeout: Duration,
    /// Concurrency policy.
    pub concurrency: Concurrency,
    /// Missed-run policy.
    pub missed: Missed,
    /// Oldest missed fire time that is still caught up.
    pub missed_window: Duration,
    /// Retries after a failed attempt.
    pub retries: Retries,
    /// Environment of the process; values may hold secret references.
    pub env: BTreeMap<String, String>,
    /// The file that declares the job, relative to the repository root.
    pub file: PathBuf,
    /// Its own notification rules, replacing the repository's; `None` uses those.
    pub notify: Option<Vec<NotifyRule>>,
    /// `env_file`: a dotenv file of the repository (SOPS-encrypted or
    /// plain) read before `env`, relative to the repository root.
    pub env_file: Option<PathBuf>,
    /// The `[secrets] age_key` reference that opens a SOPS `env_file`.
    pub age_key: Option<String>,
    /// `after`: jobs that must all have succeeded since this job's last
    /// run; it runs when the last of them succeeds.
    pub after: Vec<String>,
    /// `lock`: jobs sharing this name never run at the same time.
    pub lock: Option<String>,
}

/// How often and how patiently a failed job is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Retries {
    /// Extra attempts after the first.
    pub count: u32,
    /// Wait before each retry.
    pub backoff: Duration,
}

/// What a job runs.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// An Ansible playbook.
    Playbook(PlaybookJob),
    /// A program with arguments, run without a shell.
    Command {
        /// Program and arguments; a program with a `/` is a repository path.
        argv: Vec<String>,
    },
    /// A container action on a stack.
    Stack {
        /// Stack name.
        stack: String,
        /// What to do.
        action: StackAction,
        /// Services it applies to; empty means all.
        services: Vec<String>,
    },
}

impl JobKind {
    /// A one-word name of the kind: `playbook`, `command` or `stack`.
    pub fn word(&self) -> &'static str {
        match self {
            JobKind::Playbook(_) => "playbook",
            JobKind::Command { .. } => "command",
            JobKind::Stack { .. } => "stack",
        }
    }
}

/// The settings of a playbook job.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaybookJob {
    /// Playbook path, relative to the repository root.
    pub playbook: PathBuf,
    /// Inventory path, relative to the repository root.
    pub inventory: Option<PathBuf>,
    /// `--limit` pattern.
    pub limit: Option<String>,
    /// `--tags`.
    pub tags: Vec<String>,
    /// Extra variables, passed as one JSON `-e`.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Run with `--check` (dry run).
    pub check: bool,
    /// `vault_password`: a host-secret reference holding the vault password.
    pub vault_password: Option<String>,
    /// `vault_ids`: label → host-secret reference of its password.
    pub vault_ids: BTreeMap<String, String>,
}

/// A container action that a stack job performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StackAction {
    /// Start stopped containers.
    Start,
    /// Stop running containers.
    Stop,
    /// Restart containers.
    Restart,
    /// Pause containers.
    Pause,
    /// Unpause paused containers.
    Unpause,
    /// Pull images and recreate containers whose image digest changed.
    Update,
}

/// Whether a stack should exist and run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StackState {
    /// Containers exist and run (outside a sleep window).
    #[default]
    Running,
    /// Containers exist but are stopped.
    Stopped,
    /// No containers.
    Absent,
}

/// The word a value serialises to (`"out-of-sync"`, `"timed_out"`): the
/// same words the config files and the API use. Empty for non-strings.
pub fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

mod actual;
pub mod alert;
mod build;
mod change;
mod hook;
mod inject;
mod options;
mod run;
pub mod secret;
mod stack;
mod status;
mod target;
pub mod throttle;
pub use actual::{
    ContainerSeen, Health, HostState, NetworkSeen, Observed, RunState, Unobserved, condition_met,
    container_name, exit_code_from_status, labels,
};
pub use alert::{Alert, Delivery, Letter, Notification};
pub use build::Build;
pub use change::{Action, Change, Plan, StackPlan, Sync};
pub use hook::Hook;
pub use inject::Inject;
pub use options::ContainerOptions;
pub use run::*;
pub use stack::*;
pub use status::*;
pub use target::{BindFn, Bound, BoundAs, BuildTarget, ServiceTarget, Target, Unbound};

/// A duration as people write it in config: `90s` → `1m30s`, `2h`.
pub fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, _) if d.subsec_millis() > 0 => format!("{}ms", d.as_millis()),
        (0, 0, sec) => format!("{sec}s"),
        (0, m, 0) => format!("{m}m"),
        (0, m, sec) => format!("{m}m{sec}s"),
        (h, 0, 0) => format!("{h}h"),
        (h, m, _) => format!("{h}h{m}m"),
    }
}

//! What the daemon reports about itself: the source it follows, the commit
//! in force, config problems, and the audit events it records.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One problem in a config file, at `file:line:col`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Path relative to the repository root, `/`-separated.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// What is wrong, and what would be right.
    pub message: String,
}

/// How the config source is followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceMode {
    /// A git remote, fetched.
    Git,
    /// A plain local folder, watched and applied as it is (uncommitted).
    Directory,
}

/// The state of the config source, as `/api/v1/status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    /// Remote URL (credentials redacted) or folder path.
    pub url: String,
    /// Branch followed (`null` in directory mode or before it is known).
    pub branch: Option<String>,
    /// Git remote or plain folder.
    pub mode: SourceMode,
    /// True in directory mode: what is applied is not a commit.
    pub uncommitted: bool,
    /// Newest commit fetched (40-hex), or the folder's content digest.
    pub fetched_commit: Option<String>,
    /// Commit in force (40-hex), or the folder's content digest.
    pub applied_commit: Option<String>,
    /// Subject line of the applied commit.
    pub applied_summary: Option<String>,
    /// When the applied commit was applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// When the last fetch attempt ended.
    pub last_fetch_at: Option<DateTime<Utc>>,
    /// When the last fetch succeeded.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Why the last fetch failed; `null` when it succeeded.
    pub last_fetch_error: Option<String>,
}

/// Counts of what the applied commit declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DesiredSummary {
    /// Number of jobs.
    pub jobs: usize,
    /// Number of stacks.
    pub stacks: usize,
}

/// Everything `/api/v1/status` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The config source.
    pub source: SourceStatus,
    /// Problems of the newest fetched commit; empty when it is valid.
    pub config_errors: Vec<Diagnostic>,
    /// What the applied commit declares.
    pub desired: DesiredSummary,
}

/// Kinds of audit event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    /// The daemon started.
    Started,
    /// The daemon stopped cleanly.
    Stopped,
    /// A commit became the one in force.
    CommitApplied,
    /// A commit was rejected; the previous one stays in force.
    ConfigError,
    /// Fetching from the source failed.
    FetchFailed,
    /// Fetching works again after failures.
    FetchRecovered,
    /// The branch was force-pushed: the new tip does not contain the old one.
    HistoryRewritten,
    /// The local clone was unusable and was cloned again.
    Recloned,
    /// Changes were applied to a stack (details: the plan and each step).
    StackApplied,
    /// Applying a stack's plan failed in part.
    ApplyFailed,
    /// Something running differs from the commit and self-heal is off.
    Drift,
    /// A stack is degraded: self-heal gave up, or a container keeps failing.
    Degraded,
    /// A degraded stack is in sync again.
    StackRecovered,
    /// A Docker host could not be observed.
    HostUnreachable,
    /// A Docker host answers again.
    HostRecovered,
    /// A stack left the repository and its containers were removed.
    StackRemoved,
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log; increases by one per event.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: AuditKind,
    /// The commit it concerns, if any (40-hex or digest).
    pub commit: Option<String>,
    /// Why, in words ("new commit 1a2b3c4: add backup job").
    pub reason: String,
    /// Extra data (e.g. the diagnostics of a rejected commit).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

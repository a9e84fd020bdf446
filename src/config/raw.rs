//! The file formats as written: `tend.toml`, `jobs/*.yaml` and the `x-tend`
//! block of a compose file. These structs only parse (unknown keys and wrong
//! types are errors here); `jobs`, `stacks` and `settings` turn them into
//! the validated model. The JSON Schemas in `schema/` are generated from
//! these same types, so doc comments here are what editors show.

use super::at::At;
use crate::model::{Concurrency, EventKind, Missed, StackAction, StackState};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `tend.toml`: settings of the config repository that live in git.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TendFile {
    /// Defaults for every job.
    #[serde(default)]
    pub defaults: Defaults,
    /// How stacks are reconciled.
    #[serde(default)]
    pub reconcile: Reconcile,
    /// Docker engines by name; `local` (the local socket) exists unless redefined.
    #[serde(default)]
    pub hosts: BTreeMap<String, At<HostSpec>>,
    /// Base URL of the status page as people reach it (e.g.
    /// `https://tend.home.lan`); alerts link to the run or stack page under it.
    pub public_url: Option<At<String>>,
    /// Notification rules.
    #[serde(default)]
    pub notify: Vec<At<NotifySpec>>,
    /// Variables for compose interpolation (`${NAME}`) in every stack; a
    /// stack's `.env` is read first, these win over it. A value may be a
    /// host secret (`${env:…}`, `${file:…}`), usable only in `environment`.
    #[serde(default)]
    pub vars: BTreeMap<String, At<Scalar>>,
    /// Keys for secrets kept encrypted in the repository.
    #[serde(default)]
    pub secrets: SecretsSpec,
}

/// `[secrets]`: the keys that open SOPS-encrypted files.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretsSpec {
    /// Age identities (`AGE-SECRET-KEY-1…` lines, or an unencrypted OpenSSH
    /// ed25519/RSA private key) as a host secret, e.g.
    /// `${file:/run/secrets/age.key}`. Unset: `SOPS_AGE_KEY` or
    /// `SOPS_AGE_KEY_FILE` of tend's environment, as SOPS reads them.
    pub age_key: Option<At<String>>,
}

/// `[defaults]`: what jobs get when they do not say.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// IANA time zone name, e.g. `Europe/Berlin`. Default `UTC`.
    pub timezone: Option<At<String>>,
    /// Time limit of a job run, e.g. `30m`, `1h30m`. Default `1h`.
    pub timeout: Option<At<String>>,
    /// `allow`, `forbid` or `replace` (Kubernetes CronJob meaning). Default `forbid`.
    pub concurrency: Option<Concurrency>,
    /// `skip`, `run-once` or `run-all`: fire times missed while tend was down. Default `run-once`.
    pub missed: Option<Missed>,
    /// Missed fire times older than this are never run. Default `6h`.
    pub missed_window: Option<At<String>>,
}

/// `[reconcile]`: stack reconciliation policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reconcile {
    /// Full drift check interval even when nothing changed. Default `5m`.
    pub interval: Option<At<String>>,
    /// Put back what someone changed by hand. Default `true`.
    pub self_heal: Option<bool>,
    /// Remove containers tend created for stacks that are gone. Default `true`.
    pub prune: Option<bool>,
}

/// `[hosts.NAME]`: a Docker engine.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// `unix:///var/run/docker.sock`, `tcp://host:2376` or `ssh://user@host`.
    pub docker: At<String>,
    /// TLS client material for `tcp://`; values may be `${file:…}` references.
    pub tls: Option<TlsSpec>,
    /// Variables for compose interpolation in the stacks on this host; they
    /// win over `[vars]` and the stack's `.env`. A value may be a host
    /// secret (`${env:…}`, `${file:…}`), usable only in `environment`.
    #[serde(default)]
    pub vars: BTreeMap<String, At<Scalar>>,
}

/// TLS client settings of a Docker host.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    /// CA certificate (PEM path or `${file:…}`).
    pub ca: Option<At<String>>,
    /// Client certificate.
    pub cert: Option<At<String>>,
    /// Client key.
    pub key: Option<At<String>>,
}

/// `[[notify]]`: where to send which events.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifySpec {
    /// Apprise-style URL (`discord://id/token`, `ntfy://topic`, `json://host/path`, …);
    /// secrets as `${env:NAME}` or `${file:/path}`.
    pub url: At<String>,
    /// Events to send. Default: failure, recovery, config-error, apply-failed, degraded.
    pub on: Option<Vec<EventKind>>,
    /// Least time between two alerts about the same ongoing problem of one
    /// job or stack (the first is sent at once, the recovery once), e.g. `1h`. Default `6h`.
    pub repeat: Option<At<String>>,
}

/// A file under `jobs/`: a list of jobs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobsFile {
    /// The jobs; names are unique across all files.
    pub jobs: Vec<At<JobSpec>>,
}

/// One job. Exactly one of `playbook`, `command` or `stack` says what it runs.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// Unique name: lowercase letters, digits, `-`, `_`, `.`.
    pub name: At<String>,
    /// croner expression (5 or 6 fields, `L W # ?`, `@daily` …). Without it the job runs only when triggered.
    pub schedule: Option<At<String>>,
    /// IANA time zone of the schedule. Default `[defaults].timezone`.
    pub timezone: Option<At<String>>,
    /// Playbook to run with ansible-playbook, relative to the repository root.
    pub playbook: Option<At<String>>,
    /// Inventory file or folder (playbook jobs).
    pub inventory: Option<At<String>>,
    /// `--limit` host pattern (playbook jobs).
    pub limit: Option<At<String>>,
    /// `--tags` (playbook jobs).
    pub tags: Option<At<Vec<String>>>,
    /// Extra variables, passed as one JSON `-e` (playbook jobs).
    pub vars: Option<At<serde_json::Map<String, serde_json::Value>>>,
    /// Run with `--check` (dry run) (playbook jobs).
    pub check: Option<At<bool>>,
    /// Ansible vault password as a host secret, e.g.
    /// `${file:/run/secrets/vault.pw}` (playbook jobs); passed as
    /// `--vault-id default@FILE` with a private file, never on the command line.
    pub vault_password: Option<At<String>>,
    /// Vault passwords by vault id label, each a host secret (playbook jobs).
    pub vault_ids: Option<At<BTreeMap<String, At<String>>>>,
    /// A dotenv file of the repository (may be SOPS-encrypted) read before
    /// `env`; `env` wins.
    pub env_file: Option<At<String>>,
    /// Program and arguments, run without a shell; a program with a `/` is a repository path.
    pub command: Option<At<Vec<String>>>,
    /// Stack whose containers the `action` applies to.
    pub stack: Option<At<String>>,
    /// Container action of a stack job.
    pub action: Option<At<StackAction>>,
    /// Services of the stack the action applies to. Default: all.
    pub services: Option<At<Vec<At<String>>>>,
    /// Time limit of one attempt, e.g. `30m`.
    pub timeout: Option<At<String>>,
    /// `allow`, `forbid` or `replace`.
    pub concurrency: Option<Concurrency>,
    /// `skip`, `run-once` or `run-all`.
    pub missed: Option<Missed>,
    /// Run when every one of these jobs has succeeded since this job's
    /// last run (as well as on its `schedule`, if any).
    pub after: Option<At<Vec<At<String>>>>,
    /// Jobs (and stack jobs) sharing this name never run at the same time:
    /// one whose lock is held waits its turn, up to its `timeout` (a
    /// `concurrency: forbid` job is skipped instead).
    pub lock: Option<At<String>>,
    /// Run once at this time instead of on a schedule: a local time in the
    /// job's zone (`2026-12-24T18:00:00`) or RFC 3339 with an offset.
    pub at: Option<At<String>>,
    /// Delay every fire time by a fixed offset in [0, jitter) taken from
    /// the job's name (stable across restarts), e.g. `10m`.
    pub jitter: Option<At<String>>,
    /// Missed fire times older than this are never run.
    pub missed_window: Option<At<String>>,
    /// Retries after a failed attempt.
    pub retries: Option<RetriesSpec>,
    /// Environment of the process; values may reference host secrets.
    pub env: Option<BTreeMap<String, At<Scalar>>>,
    /// Notification rules for this job instead of `tend.toml`'s `[[notify]]`;
    /// `[]` silences the job.
    pub notify: Option<Vec<At<NotifySpec>>>,
}

/// `retries: { count, backoff }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetriesSpec {
    /// Extra attempts after a failed one.
    pub count: u32,
    /// Wait before each retry, e.g. `1m`. Default `30s`.
    pub backoff: Option<At<String>>,
}

/// The `x-tend` block of a compose file.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct XTend {
    /// Which `[hosts.*]` the stack runs on. Default `local`.
    pub host: Option<At<String>>,
    /// `running`, `stopped` or `absent`. Default `running`.
    pub state: Option<StackState>,
    /// A window in which the stack is stopped.
    pub sleep: Option<SleepSpec>,
    /// Compose profiles enabled for this stack: services with `profiles:`
    /// run only when one of theirs is listed here.
    pub profiles: Option<Vec<At<String>>>,
    /// Tracked files or folders (relative to the stack folder) that the app
    /// rewrites: placed from git once, then never restored or replaced.
    pub host_owned: Option<Vec<At<String>>>,
    /// When the stack is removed from git (with prune), also remove its
    /// working directory and named volumes. Default false: data stays.
    pub remove_data: Option<bool>,
}

/// `sleep: { from, to }`: cron expressions in `[defaults].timezone`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SleepSpec {
    /// When the stack goes to sleep (stops), e.g. `0 1 * * *`.
    pub from: At<String>,
    /// When it wakes up (starts), e.g. `0 7 * * *`.
    pub to: At<String>,
}

/// A string, number or boolean, kept as its text (environment values).
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum Scalar {
    /// Text.
    Text(String),
    /// A number, written as such.
    Number(f64),
    /// A boolean.
    Bool(bool),
}

impl Scalar {
    /// The value as text, as an environment variable would hold it.
    pub fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_owned()))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

//! Reading a config repository into a validated [`Desired`].
//!
//! Parse, then resolve (ripgrep's `LowArgs` → `HiArgs`): files become
//! [`node::Node`] trees with positions, trees become the raw structs of
//! [`raw`] and [`compose`] (shape errors: unknown keys, wrong types), and
//! `settings`, `stacks` and `jobs` check meaning (cron, time zones, paths,
//! references) and build the model. Every problem of every file is collected
//! into one [`Report`] with `file:line:col`; a repository with any problem
//! yields no `Desired` at all. Pure apart from reading the repository's
//! files and the host's age identities (to open SOPS files); `now` is an
//! argument.

mod at;
mod compose;
mod compose_build;
mod compose_files;
mod compose_forms;
mod compose_health;
mod compose_hooks;
mod compose_include;
mod compose_merge;
mod compose_mounts;
mod compose_opts;
mod compose_profiles;
mod compose_project;
mod compose_rebase;
mod compose_service;
mod compose_top;
mod de;
mod diag;
pub mod dotenv;
pub mod interpolate;
mod job_after;
mod job_timing;
mod jobs;
pub mod node;
pub mod notify_url;
pub mod raw;
mod repo;
pub mod schema;
mod sealed;
mod settings;
mod stack_refs;
mod stacks;
mod toml_doc;
pub mod values;
mod vault;

pub use at::At;
pub use diag::{Diagnostic, Report};
pub use notify_url::NotifyUrl;
pub use repo::Repo;

use crate::model::Desired;
use chrono::{DateTime, Utc};
use node::{Node, Pos};
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// Why a repository could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The folder itself could not be read: nothing was validated.
    #[error("cannot read config repository {path}: {cause}")]
    Unreadable {
        /// The folder given.
        path: PathBuf,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// The repository was read and has problems; every one is in the report.
    #[error("config repository has {} error(s)", .0.diagnostics.len())]
    Invalid(Report),
}

/// Reads and validates the config repository in `dir`.
pub fn load(dir: &Path, now: DateTime<Utc>) -> Result<Desired, LoadError> {
    let repo = Repo::open(dir).map_err(|cause| LoadError::Unreadable {
        path: dir.to_owned(),
        cause,
    })?;
    let mut cx = Ctx {
        repo,
        report: Report::default(),
        now,
        origins: Vec::new(),
        keys: crate::sops::Keyring::default(),
    };
    let tend_file = settings::read(&mut cx);
    let (settings, hosts, notify) = settings::build(&mut cx, tend_file);
    match crate::sops::Keyring::host(settings.age_key.as_deref()) {
        Ok(keys) => cx.keys = keys,
        Err(e) => {
            let pos = cx.position_of(settings::FILE, "age_key");
            cx.error(settings::FILE, pos, e.to_string());
        }
    }
    let (stacks, declared) = stacks::load_all(&mut cx, &settings, &hosts);
    let jobs = jobs::load_all(&mut cx, &settings, &declared);
    cx.report.finish();
    if !cx.report.is_ok() {
        return Err(LoadError::Invalid(cx.report));
    }
    Ok(Desired {
        settings,
        hosts,
        notify,
        jobs,
        stacks,
        notes: cx.report.notes,
    })
}

/// Shared state of one validation: the repository, the report, the clock.
pub(crate) struct Ctx {
    repo: Repo,
    report: Report,
    now: DateTime<Utc>,
    /// Files whose values were merged into another file's tree, numbered
    /// from 1 as in [`Pos::file`].
    origins: Vec<String>,
    /// The host's age identities, for SOPS-encrypted files.
    keys: crate::sops::Keyring,
}

impl Ctx {
    /// Records a problem; a position that carries its own file (a value
    /// merged in by `include`/`extends`) is reported against that file.
    fn error(&mut self, file: &str, pos: Pos, message: impl Into<String>) {
        let origin = usize::from(pos.file)
            .checked_sub(1)
            .and_then(|i| self.origins.get(i));
        let file = origin.map_or(file, String::as_str).to_owned();
        self.report
            .error(&file, Pos::new(pos.line, pos.column), message);
    }

    /// The number [`Pos::file`] gives values of `rel` once merged elsewhere.
    fn origin(&mut self, rel: &str) -> u16 {
        let i = match self.origins.iter().position(|o| o == rel) {
            Some(i) => i,
            None => {
                self.origins.push(rel.to_owned());
                self.origins.len() - 1
            }
        };
        u16::try_from(i + 1).unwrap_or(u16::MAX)
    }

    /// Reads a file and keeps its text for quoting; `None` after reporting.
    fn text(&mut self, rel: &str) -> Option<String> {
        match self.repo.read(rel) {
            Ok(text) => {
                self.report.sources.insert(rel.to_owned(), text.clone());
                Some(text)
            }
            Err(e) => {
                self.error(rel, e.pos, e.message);
                None
            }
        }
    }

    /// Where `needle` first appears in the kept text of `rel` (the file's
    /// start when it does not).
    fn position_of(&self, rel: &str, needle: &str) -> Pos {
        self.report
            .sources
            .get(rel)
            .and_then(|text| Some(Pos::of_offset(text, text.find(needle)?)))
            .unwrap_or(Pos::START)
    }

    /// Reads and parses a YAML file into a node tree.
    fn yaml(&mut self, rel: &str) -> Option<Node> {
        let text = self.text(rel)?;
        node::parse_yaml(&text)
            .map_err(|e| self.error(rel, e.pos, e.message))
            .ok()
    }

    /// Reads and parses a TOML file into a node tree.
    fn toml(&mut self, rel: &str) -> Option<Node> {
        let text = self.text(rel)?;
        match toml_doc::parse_toml(&text) {
            Ok(node) => Some(node),
            Err(errors) => {
                for e in errors {
                    self.error(rel, e.pos, e.message);
                }
                None
            }
        }
    }

    /// Deserializes a node tree, reporting every shape error.
    fn typed<T: DeserializeOwned>(&mut self, rel: &str, node: &Node) -> Option<T> {
        let (value, errors) = de::from_node(node);
        for (pos, message) in errors {
            self.error(rel, pos, message);
        }
        value
    }

    /// Parses a duration value, reporting a bad one.
    fn duration(&mut self, rel: &str, at: &At<String>) -> Option<std::time::Duration> {
        values::parse_duration(at)
            .map_err(|e| self.error(rel, at.pos, e))
            .ok()
    }

    /// Parses an IANA time zone name, reporting an unknown one.
    fn timezone(&mut self, rel: &str, at: &At<String>) -> Option<chrono_tz::Tz> {
        at.parse::<chrono_tz::Tz>()
            .map_err(|_| {
                self.error(
                    rel,
                    at.pos,
                    format!(
                        "unknown time zone `{}`: use an IANA name such as `Europe/Berlin` or `UTC`",
                        at.value
                    ),
                )
            })
            .ok()
    }

    /// Parses a cron expression in `tz`, reporting a bad one.
    fn schedule(
        &mut self,
        rel: &str,
        at: &At<String>,
        tz: chrono_tz::Tz,
    ) -> Option<crate::schedule::Schedule> {
        crate::schedule::Schedule::parse(at, tz, self.now)
            .map_err(|e| self.error(rel, at.pos, e.to_string()))
            .ok()
    }

    /// Checks `${env:…}`/`${file:…}` references in a value.
    fn references(&mut self, rel: &str, at: &At<String>) {
        if let Err((_, message)) = values::check_references(at) {
            self.error(rel, at.pos, message);
        }
    }

    /// Checks a path named in the config.
    fn path(&mut self, rel: &str, at: &At<String>, want: repo::Want) -> Option<PathBuf> {
        self.repo
            .check(at, want)
            .map_err(|e| self.error(rel, at.pos, e))
            .ok()
    }
}

//! Subcommands of the `tend` binary other than the daemon: `check`, `config`, `jobs`
//! and `schema`, with their output formats.

pub mod client;
pub mod notify;
pub mod resolved;
pub mod run;
pub mod stacks;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::io::Write;
use std::process::ExitCode;
use tend::config::{self, LoadError};
use tend::model::{Desired, JobKind};

/// Output format of `tend check`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    /// rustc-style text with source lines.
    Human,
    /// `[{"file","line","column","message"}]`.
    Json,
}

/// `tend check`.
pub fn check(dir: &std::path::Path, format: Format) -> ExitCode {
    match config::load(dir, Utc::now()) {
        Ok(desired) => {
            let notes = config::Report::render_notes(&desired.notes);
            let text = match format {
                Format::Human => format!("{notes}ok: {}\n", summary(&desired)),
                Format::Json => {
                    eprint!("{notes}");
                    "[]\n".to_owned()
                }
            };
            out(&text, ExitCode::SUCCESS)
        }
        Err(LoadError::Invalid(report)) => {
            let text = match format {
                Format::Human => report.render(),
                Format::Json => format!("{}\n", report.to_json()),
            };
            out(&text, ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn summary(d: &Desired) -> String {
    let services: usize = d.stacks.iter().map(|s| s.services.len()).sum();
    format!(
        "{} jobs, {} stacks ({} services), {} docker hosts, {} notification rules",
        d.jobs.len(),
        d.stacks.len(),
        services,
        d.hosts.len(),
        d.notify.len()
    )
}

/// `tend jobs`: each job's next `count` fire times after `from` — the
/// scheduler's own computation ([`tend::schedule::Schedule::upcoming`]).
pub fn jobs(
    dir: &std::path::Path,
    (count, from): (usize, DateTime<Utc>),
    only: Option<&str>,
    format: Format,
) -> Result<ExitCode> {
    let desired = match config::load(dir, from) {
        Ok(d) => d,
        Err(LoadError::Invalid(report)) => return Ok(out(&report.render(), ExitCode::from(1))),
        Err(e) => return Err(e.into()),
    };
    let jobs: Vec<&tend::model::Job> = desired
        .jobs
        .iter()
        .filter(|j| only.is_none_or(|n| j.name == n))
        .collect();
    if let (Some(name), true) = (only, jobs.is_empty()) {
        eprintln!("error: no job `{name}` in {}", dir.display());
        return Ok(ExitCode::from(1));
    }
    if let Format::Json = format {
        let list: Vec<serde_json::Value> = jobs
            .iter()
            .map(|job| {
                let s = job.schedule.as_ref();
                let next: Vec<String> = s
                    .map(|s| {
                        s.upcoming(from, count)
                            .iter()
                            .map(|t| t.to_rfc3339())
                            .collect()
                    })
                    .unwrap_or_default();
                serde_json::json!({
                    "job": job.name,
                    "schedule": s.map(|s| s.expr()),
                    "timezone": s.map(|s| s.timezone().name()),
                    "next": next,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).unwrap_or_default();
        return Ok(out(&format!("{text}\n"), ExitCode::SUCCESS));
    }
    let mut text = String::new();
    for job in jobs {
        let what = match &job.kind {
            JobKind::Playbook(p) => format!("playbook {}", p.playbook.display()),
            JobKind::Command { argv } => format!("command {}", argv.join(" ")),
            JobKind::Stack { stack, action, .. } => {
                format!("stack {stack}: {action:?}").to_lowercase()
            }
        };
        text += &format!("{}  ({what})\n", job.name);
        match &job.schedule {
            Some(s) => {
                let words = s.describe();
                let words = words.trim_end_matches('.');
                let jitter = match s.offset() {
                    d if d.is_zero() => String::new(),
                    d => format!(", +{} jitter", tend::runner::humantime(d)),
                };
                text += &format!(
                    "  schedule: {} ({words}) in {}{jitter}\n",
                    s.expr(),
                    s.timezone()
                );
                for t in s.upcoming(from, count) {
                    text += &format!("  next:     {}\n", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
                }
            }
            None => text += "  schedule: none (runs only when triggered)\n",
        }
    }
    Ok(out(&text, ExitCode::SUCCESS))
}

/// `tend schema`.
pub fn schema(out: &std::path::Path) -> Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, text) in config::schema::all() {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes CLI output to stdout; a closed pipe (`tend jobs | head`) is not an error.
pub fn out(text: &str, code: ExitCode) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => ExitCode::from(2),
        _ => code,
    }
}

//! The `tend` command line: parses arguments, sets up tracing, calls the
//! library and prints results. The only place that uses `anyhow`.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use tend::config::{self, LoadError};
use tend::model::{Desired, JobKind};

/// tend: a GitOps reconciler for homelabs — Ansible jobs, cron, Docker stacks, one binary.
#[derive(Parser)]
#[command(name = "tend", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a config repository; exit 0 valid, 1 invalid, 2 could not run.
    Check {
        /// The config repository folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// List jobs: kind, schedule, the schedule in words, next fire times.
    Jobs {
        /// The config repository folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// How many upcoming fire times to show.
        #[arg(long, default_value_t = 3)]
        next: usize,
        /// Compute fire times from this instant (RFC 3339) instead of now.
        #[arg(long, hide = true)]
        now: Option<DateTime<Utc>>,
    },
    /// Write the JSON Schemas of the config files.
    Schema {
        /// Folder to write them to.
        #[arg(long, default_value = "schema")]
        out: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TEND_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { dir, format } => Ok(check(&dir, format)),
        Command::Jobs { dir, next, now } => jobs(&dir, next, now.unwrap_or_else(Utc::now)),
        Command::Schema { out } => schema(&out),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

fn check(dir: &std::path::Path, format: Format) -> ExitCode {
    match config::load(dir, Utc::now()) {
        Ok(desired) => {
            let text = match format {
                Format::Human => format!("ok: {}\n", summary(&desired)),
                Format::Json => "[]\n".to_owned(),
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

fn jobs(dir: &std::path::Path, next: usize, now: DateTime<Utc>) -> Result<ExitCode> {
    let desired = match config::load(dir, now) {
        Ok(d) => d,
        Err(LoadError::Invalid(report)) => return Ok(out(&report.render(), ExitCode::from(1))),
        Err(e) => return Err(e.into()),
    };
    let mut text = String::new();
    for job in &desired.jobs {
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
                text += &format!("  schedule: {} ({words}) in {}\n", s.expr(), s.timezone());
                for t in s.upcoming(now, next) {
                    text += &format!("  next:     {}\n", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
                }
            }
            None => text += "  schedule: none (runs only when triggered)\n",
        }
    }
    Ok(out(&text, ExitCode::SUCCESS))
}

fn schema(out: &std::path::Path) -> Result<ExitCode> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for (name, text) in config::schema::all() {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes CLI output to stdout; a closed pipe (`tend jobs | head`) is not an error.
fn out(text: &str, code: ExitCode) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => ExitCode::from(2),
        _ => code,
    }
}

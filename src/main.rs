//! The `tend` command line: parses arguments, sets up tracing, and hands
//! each subcommand to `cli`. The only place (with `cli`) that uses `anyhow`.

mod cli;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// tend: a GitOps reconciler for homelabs — Ansible jobs, cron, Docker stacks, one binary.
#[derive(Parser)]
#[command(name = "tend", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, env = "TEND_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon: follow a config repository and keep it applied.
    Run(Box<tend::daemon::Options>),
    /// Validate a config repository; exit 0 valid, 1 invalid, 2 could not run.
    Check {
        /// The config repository folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cli::Format::Human)]
        format: cli::Format,
    },
    /// Print each stack as tend will create it (interpolated, normalised, defaults filled).
    Config {
        /// The config repository folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Only this stack.
        stack: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = cli::resolved::ConfigFormat::Yaml)]
        format: cli::resolved::ConfigFormat,
    },
    /// List jobs: kind, schedule, the schedule in words, next fire times.
    Jobs {
        /// The config repository folder.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// How many upcoming fire times to show.
        #[arg(long, visible_alias = "next", default_value_t = 3)]
        count: usize,
        /// Compute fire times after this instant (RFC 3339, e.g.
        /// `2026-10-25T00:00:00+02:00`) instead of now.
        #[arg(long, visible_alias = "now", value_parser = rfc3339)]
        from: Option<DateTime<chrono::FixedOffset>>,
        /// Only this job.
        #[arg(long)]
        job: Option<String>,
        /// `human` (default) or `json`:
        /// `[{"job","schedule","timezone","next":[RFC 3339]}]`.
        #[arg(long, value_enum, default_value_t = cli::Format::Human)]
        format: cli::Format,
    },
    /// Show what would change on the Docker hosts; exit 0 in sync, 2 changes pending, 1 error.
    Plan(cli::stacks::StacksArgs),
    /// Reconcile the stacks once, then exit; exit 0 when everything ends in sync.
    Apply(cli::stacks::StacksArgs),
    /// Show recent job runs of a running tend (through its API).
    History {
        /// Only this job's runs.
        #[arg(long)]
        job: Option<String>,
        /// How many runs.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        api: cli::client::ApiArgs,
    },
    /// Run a job now on a running tend (needs its API token).
    Trigger {
        /// Job name.
        job: String,
        /// File holding the API token (`tend run --api-token-file`).
        #[arg(long, env = "TEND_API_TOKEN_FILE")]
        token_file: PathBuf,
        #[command(flatten)]
        api: cli::client::ApiArgs,
    },
    /// Send a test message to a notification URL and print the answer.
    NotifyTest {
        /// Apprise-style URL (`discord://…`, `ntfy://…`, `json://…`, …);
        /// `${env:…}`/`${file:…}` are resolved.
        url: String,
    },
    /// Exit 0 when a local `tend run` answers `/healthz` (for container health checks).
    Healthcheck {
        /// The daemon's `--listen` address.
        #[arg(long, env = "TEND_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Write the JSON Schemas of the config files.
    Schema {
        /// Folder to write them to.
        #[arg(long, default_value = "schema")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("TEND_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match cli.log_format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    let result = match cli.command {
        Command::Run(args) => cli::run::run(*args),
        Command::Check { dir, format } => Ok(cli::check(&dir, format)),
        Command::Config { dir, stack, format } => {
            cli::resolved::config(&dir, stack.as_deref(), format)
        }
        Command::Jobs {
            dir,
            count,
            from,
            job,
            format,
        } => {
            let from = from.map_or_else(Utc::now, |f| f.with_timezone(&Utc));
            cli::jobs(&dir, (count, from), job.as_deref(), format)
        }
        Command::Plan(a) => cli::stacks::plan(&a.dir, a.format, a.at.unwrap_or_else(Utc::now)),
        Command::Apply(a) => cli::stacks::apply(&a.dir, a.format, a.at.unwrap_or_else(Utc::now)),
        Command::Schema { out } => cli::schema(&out),
        Command::Healthcheck { listen } => cli::client::healthcheck(&listen),
        Command::NotifyTest { url } => cli::notify::notify_test(&url),
        Command::History { job, limit, api } => cli::client::history(&api, job.as_deref(), limit),
        Command::Trigger {
            job,
            token_file,
            api,
        } => cli::client::trigger(&api, &job, &token_file),
    };
    result.unwrap_or_else(|e| {
        tracing::error!(cause = %format!("{e:#}"), "tend failed");
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}

/// Parses `--from`: an RFC 3339 instant with its offset.
fn rfc3339(text: &str) -> Result<DateTime<chrono::FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text.trim()).map_err(|e| {
        format!("`{text}` is not an RFC 3339 time ({e}); write e.g. `2026-10-25T00:00:00+02:00` or `2026-10-25T00:00:00Z`")
    })
}

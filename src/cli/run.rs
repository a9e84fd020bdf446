//! `tend run`: wires the real source, store, web server and triggers
//! together, runs until SIGINT/SIGTERM, then stops triggers, lets the work
//! in flight end within the grace period and closes the store.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tend::model::{DesiredSummary, SourceMode, SourceStatus, Status};
use tend::reconcile::deliver::Courier;
use tend::reconcile::mail::Mailer;
use tend::reconcile::queue::{Queue, Reason};
use tend::reconcile::scheduler::{Manual, Scheduler, SchedulerConfig};
use tend::reconcile::stacks::Stacks;
use tend::reconcile::{Daemon, timers};
use tend::source::{self, Source, auth::Auth, dir::DirSource, git::GitSource};
use tend::store::Store;
use tend::web;
use tokio::sync::watch;

/// Options of `tend run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Config repository: a local path, file://, git://, ssh:// or user@host:path, https://.
    /// A plain folder that is not a git repository is followed as it is (dev mode).
    #[arg(long, env = "TEND_SOURCE")]
    pub source: String,
    /// Branch to follow (default: the remote's default branch).
    #[arg(long, env = "TEND_BRANCH")]
    pub branch: Option<String>,
    /// Data folder: database, clone, snapshots.
    #[arg(long, env = "TEND_DATA", default_value = "./tend-data")]
    pub data: PathBuf,
    /// Where stacks' working directories (relative binds) live, one folder
    /// per host and stack; default DATA/stacks. When tend runs in a
    /// container, bind this folder at the same path on the host.
    #[arg(long, env = "TEND_STACKS_DIR")]
    pub stacks_dir: Option<PathBuf>,
    /// Address of the status page and API.
    #[arg(long, env = "TEND_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// How often to poll the remote (with ±10 % jitter), e.g. 60s, 5m.
    #[arg(long, env = "TEND_POLL_INTERVAL", default_value = "60s", value_parser = duration)]
    pub poll_interval: Duration,
    /// Private key for ssh remotes (default: the ssh agent).
    #[arg(long, env = "TEND_SSH_KEY")]
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for ssh host keys (default: ~/.ssh/known_hosts).
    #[arg(long, env = "TEND_KNOWN_HOSTS")]
    pub known_hosts: Option<PathBuf>,
    /// Record unknown ssh host keys in the known_hosts file instead of refusing them.
    #[arg(long, env = "TEND_SSH_ACCEPT_NEW")]
    pub ssh_accept_new: bool,
    /// File holding the webhook secret; the webhook is off without it.
    #[arg(long, env = "TEND_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// File holding the API token for manual runs (`tend trigger`); they are off without it.
    #[arg(long, env = "TEND_API_TOKEN_FILE")]
    pub api_token_file: Option<PathBuf>,
    /// File holding a token needed to read the page, the API and /metrics
    /// (bearer, or the password of basic auth); reads are open without it.
    #[arg(long, env = "TEND_VIEW_TOKEN_FILE")]
    pub view_token_file: Option<PathBuf>,
    /// The ansible-playbook program for playbook jobs.
    #[arg(
        long,
        env = "TEND_ANSIBLE_PLAYBOOK",
        default_value = "ansible-playbook"
    )]
    pub ansible_playbook: PathBuf,
    /// Wait before the first retry of an undelivered notification (tripled for each further one).
    #[arg(long, env = "TEND_NOTIFY_BACKOFF", default_value = "5s", value_parser = duration, hide = true)]
    pub notify_backoff: Duration,
    /// How long work in flight may take to finish on shutdown.
    #[arg(long, env = "TEND_SHUTDOWN_GRACE", default_value = "10s", value_parser = duration)]
    pub shutdown_grace: Duration,
}

fn duration(text: &str) -> Result<Duration, String> {
    tend::config::values::parse_duration(text)
}

/// Runs the daemon until a signal.
pub fn run(args: RunArgs) -> Result<std::process::ExitCode> {
    // libgit2 probes OpenSSL's certificate paths (mutating the environment)
    // on first use: do it now, before any thread exists.
    let _ = git2::Config::new();
    std::fs::create_dir_all(&args.data)
        .with_context(|| format!("creating data folder {}", args.data.display()))?;
    let store = Store::open(&args.data.join("tend.redb"))?;
    let secret = match &args.webhook_secret_file {
        Some(path) => Some(read_secret(path)?),
        None => None,
    };
    let api_token = match &args.api_token_file {
        Some(path) => Some(read_secret(path)?),
        None => None,
    };
    let view_token = match &args.view_token_file {
        Some(path) => Some(read_secret(path)?),
        None => None,
    };
    let token = std::env::var("TEND_GIT_TOKEN")
        .ok()
        .filter(|t| !t.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(daemon(
        args,
        store,
        Secrets {
            webhook: secret,
            api: api_token,
            view: view_token,
            git: token,
        },
    ))
}

/// Secrets read at start, never logged.
struct Secrets {
    webhook: Option<Vec<u8>>,
    api: Option<Vec<u8>>,
    view: Option<Vec<u8>>,
    git: Option<String>,
}

fn read_secret(path: &Path) -> Result<Vec<u8>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading webhook secret {}", path.display()))?;
    let secret = text.trim_end_matches(['\n', '\r']).as_bytes().to_vec();
    if secret.is_empty() {
        bail!("secret file {} is empty", path.display());
    }
    Ok(secret)
}

fn build_source(
    args: &RunArgs,
    token: Option<String>,
    cancel: Arc<AtomicBool>,
) -> Result<(Source, String)> {
    if source::is_plain_dir(&args.source) {
        let path = std::fs::canonicalize(&args.source)?;
        let shown = path.display().to_string();
        return Ok((Source::Dir(DirSource::new(&path)), shown));
    }
    let local = Path::new(&args.source);
    let scp_like = args
        .source
        .split_once(':')
        .is_some_and(|(host, _)| !host.contains('/'));
    let url = if args.source.contains("://") || (scp_like && !local.exists()) {
        args.source.clone()
    } else if local.exists() {
        std::fs::canonicalize(local)?.display().to_string()
    } else {
        bail!(
            "source {} does not exist (give a local path, or a URL such as ssh://, git://, https://)",
            args.source
        );
    };
    let known_hosts = args
        .known_hosts
        .clone()
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/known_hosts")));
    let auth = Auth {
        ssh_key: args.ssh_key.clone(),
        known_hosts,
        accept_new: args.ssh_accept_new,
        https_token: token,
    };
    let git = GitSource::new(&url, args.branch.clone(), auth, &args.data, cancel);
    Ok((Source::Git(git), source::redact_url(&url)))
}

async fn daemon(args: RunArgs, store: Store, secrets: Secrets) -> Result<std::process::ExitCode> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (source, shown) = build_source(&args, secrets.git, cancel.clone())?;
    let mode = source.mode();
    let initial = Status {
        source: SourceStatus {
            url: shown,
            branch: args.branch.clone(),
            mode,
            uncommitted: mode == SourceMode::Directory,
            fetched_commit: None,
            applied_commit: None,
            applied_summary: None,
            applied_at: None,
            last_fetch_at: None,
            last_success_at: None,
            last_fetch_error: None,
        },
        config_errors: Vec::new(),
        desired: DesiredSummary::default(),
    };
    let (status_tx, status_rx) = watch::channel(initial);
    let queue = Arc::new(Queue::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let watch_dir = match &source {
        Source::Dir(d) => Some(d.path().to_owned()),
        Source::Git(_) => None,
    };
    let observers = tend::live::Observers::default();
    let daemon = Daemon::new(source, store.clone(), status_tx, queue.clone())
        .with_observers(observers.clone());
    let mailer = Mailer::new(daemon.applied(), Some(status_rx.clone()));
    let mut daemon = daemon.with_mailer(mailer.clone());
    if let Err(e) = daemon.restore().await {
        tracing::warn!(cause = %e, "could not restore the commit in force; waiting for a fetch");
    }
    let _watcher = match &watch_dir {
        Some(dir) => {
            let q = queue.clone();
            Some(source::dir::watch(
                dir,
                Duration::from_millis(300),
                move || q.request(Reason::FileChange),
            )?)
        }
        None => {
            tokio::spawn(timers::poll(
                queue.clone(),
                args.poll_interval,
                daemon.failures.clone(),
                stop_rx.clone(),
            ));
            None
        }
    };
    tokio::spawn(timers::interval(
        queue.clone(),
        daemon.applied(),
        stop_rx.clone(),
    ));

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    let applied = daemon.applied();
    let (manual_tx, manual_rx) = tokio::sync::mpsc::channel::<Manual>(64);
    let stacks_dir = args
        .stacks_dir
        .clone()
        .unwrap_or_else(|| args.data.join("stacks"));
    let stacks = Stacks::new(store.clone(), applied.clone(), &args.data)
        .with_work_root(stacks_dir)
        .with_observers(observers.clone())
        .with_mailer(mailer.clone());
    let stacks_view = stacks.view();
    let (stack_tx, stack_rx) = tokio::sync::mpsc::channel(64);
    let stacks_task = tokio::spawn(stacks.run(stack_rx, stop_rx.clone()));
    let sched_config = SchedulerConfig {
        work_root: args.data.join("work"),
        ansible_playbook: args.ansible_playbook.clone(),
        grace: args.shutdown_grace,
        stacks: Some(stack_tx),
        observers: observers.clone(),
        mail: Some(mailer),
    };
    let courier = Courier {
        store: store.clone(),
        metrics: observers.metrics.clone(),
        backoff: args.notify_backoff,
    };
    tokio::spawn(courier.run(stop_rx.clone()));
    let scheduler = Scheduler::new(store.clone(), sched_config, applied.clone());
    let scheduler_task = tokio::spawn(scheduler.run(manual_rx, stop_rx.clone()));
    let trigger: web::TriggerFn = Arc::new(move |job| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        if manual_tx.try_send(Manual { job, reply }).is_err() {
            tracing::warn!("manual run refused: the scheduler is busy or stopped");
        }
        answer
    });
    let q = queue.clone();
    let state = web::AppState {
        status: status_rx,
        store: store.reader(),
        webhook_secret: secrets.webhook.map(Arc::new),
        on_push: Arc::new(move || q.request(Reason::Webhook)),
        poll_interval: watch_dir.is_none().then_some(args.poll_interval),
        applied,
        api_token: secrets.api.clone().map(Arc::new),
        trigger: secrets.api.is_some().then_some(trigger),
        stacks: stacks_view,
        metrics: observers.metrics.clone(),
        view_token: secrets.view.map(Arc::new),
        live: observers.hub,
        pages: Default::default(),
    };
    let mut web_stop = stop_rx.clone();
    let web_task = tokio::spawn(web::serve(listener, web::router(state), async move {
        timers::stopped(&mut web_stop).await
    }));
    let daemon_task = tokio::spawn(daemon.run(stop_rx));

    wait_for_signal().await?;
    tracing::info!(grace = ?args.shutdown_grace, "shutting down");
    cancel.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(args.shutdown_grace, daemon_task)
        .await
        .is_err()
    {
        tracing::warn!("work in flight did not finish within the grace period");
    }
    let job_grace = args.shutdown_grace + Duration::from_secs(1);
    if tokio::time::timeout(job_grace, scheduler_task)
        .await
        .is_err()
    {
        tracing::warn!("job runs did not stop within the grace period");
    }
    let _ = tokio::time::timeout(args.shutdown_grace, stacks_task).await;
    let _ = tokio::time::timeout(args.shutdown_grace, web_task).await;
    drop(store);
    tracing::info!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}

async fn wait_for_signal() -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

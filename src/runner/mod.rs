//! Running a job as a subprocess in the applied commit's snapshot folder.
//!
//! The process gets a clean environment (`PATH`, `HOME`, `LANG`, `TZ` and
//! the job's `env:`, with `${env:…}`/`${file:…}` resolved now and redacted
//! from the log), its own process group (a timeout or a stop kills the whole
//! group: TERM, then KILL after a grace), and its output captured line by
//! line into a [`log::LogSink`]. A run that fails is an [`Outcome`], not an
//! error. Log chunks go out on a channel; storing them is the caller's job.

pub mod ansible;
pub mod log;
pub mod secrets;

use crate::model::{HostRecap, Job, JobKind, RunStatus};
use log::{LogSink, Stream};
use secrets::ResolvedEnv;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

/// Time between SIGTERM and SIGKILL when a run is stopped.
pub const KILL_GRACE: Duration = Duration::from_secs(5);
/// How often captured output is handed out as a chunk.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Longest line kept whole; longer output is split.
const MAX_LINE: usize = 16 * 1024;

/// What to run and where.
pub struct RunSpec {
    /// The job.
    pub job: Job,
    /// The snapshot folder (working directory).
    pub dir: PathBuf,
    /// A private folder for this run (Ansible home, temp, recap).
    pub work: PathBuf,
    /// The `ansible-playbook` program.
    pub ansible_playbook: PathBuf,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Final status.
    pub status: RunStatus,
    /// Exit code, when the process exited by itself.
    pub exit_code: Option<i32>,
    /// Per-host recap of a playbook run.
    pub recap: Vec<HostRecap>,
    /// What went wrong, in words.
    pub reason: Option<String>,
    /// The end of the log not yet sent as a chunk (stored with the result).
    pub log_tail: Vec<u8>,
    /// When the process was spawned (`None` if it never started).
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Outcome {
    fn failed(reason: String) -> Outcome {
        Outcome {
            status: RunStatus::Failed,
            exit_code: None,
            recap: Vec::new(),
            reason: Some(reason),
            log_tail: Vec::new(),
            started_at: None,
        }
    }
}

/// `value` with each `${env:NAME}` / `${file:/path}` replaced from this
/// host (`$${` stays a literal `${`), and the secret values it took in.
pub fn expand(value: &str) -> Result<(String, Vec<String>), String> {
    crate::model::secret::expand(value, &crate::model::secret::Sources::host())
}

/// The program and arguments of a job (stack jobs are not run here).
fn command_line(spec: &RunSpec) -> Option<(PathBuf, Vec<String>)> {
    match &spec.job.kind {
        JobKind::Playbook(p) => Some((spec.ansible_playbook.clone(), ansible::args(p))),
        JobKind::Command { argv } => {
            let program = argv.first()?;
            let program = if program.contains('/') {
                spec.dir.join(program)
            } else {
                PathBuf::from(program)
            };
            Some((program, argv[1..].to_vec()))
        }
        JobKind::Stack { .. } => None,
    }
}

/// Runs the job to its end (or timeout, or `stop`), streaming log chunks to `chunks`.
pub async fn execute(
    spec: RunSpec,
    chunks: mpsc::UnboundedSender<Vec<u8>>,
    stop: watch::Receiver<bool>,
) -> Outcome {
    let is_playbook = matches!(spec.job.kind, JobKind::Playbook(_));
    let (mut child, mut sink, started_at) = match start(&spec).await {
        Ok(started) => started,
        Err(outcome) => return *outcome,
    };
    let pid = child.id().map(|p| p as i32);
    let (tx, mut lines) = mpsc::channel::<(Stream, String)>(1024);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(read_lines(out, Stream::Out, tx.clone()));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(read_lines(err, Stream::Err, tx.clone()));
    }
    drop(tx);
    let watch = Watch {
        timeout: spec.job.timeout,
        pid,
        chunks,
        stop,
    };
    let (exit, ended_by) = watch.until_exit(&mut child, &mut lines, &mut sink).await;
    // Output still buffered in the pipes; bounded, as a grandchild may hold them open.
    let drain = async {
        while let Some((stream, line)) = lines.recv().await {
            sink.line(stream, &line);
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    let code = exit.and_then(|s| s.code());
    let recap = if is_playbook {
        ansible::recap(&spec.work)
    } else {
        Vec::new()
    };
    let (status, mut reason) = verdict(ended_by, code, is_playbook);
    if let (Some(why), Some(_)) = (reason.as_mut(), sink.hint) {
        // Exit code 1 names other causes; the log said which it was.
        *why = secrets::vault_advice(&spec.job).to_owned();
    }
    sink.note(&format!(
        "tend: {}",
        reason.as_deref().unwrap_or("succeeded")
    ));
    Outcome {
        status,
        exit_code: code,
        recap,
        reason,
        log_tail: sink.finish(),
        started_at: Some(started_at),
    }
}

/// Resolves the job's environment and starts its process (in its own
/// process group, stdin closed, output piped): the child, the log sink
/// (which redacts the job's secrets) and when it started; or the outcome
/// of a run that could not start.
async fn start(
    spec: &RunSpec,
) -> Result<
    (
        tokio::process::Child,
        LogSink,
        chrono::DateTime<chrono::Utc>,
    ),
    Box<Outcome>,
> {
    let ResolvedEnv {
        vars,
        secrets,
        vault_args,
    } = secrets::prepare(spec).map_err(|e| {
        let mut outcome = Outcome::failed(e.clone());
        outcome.log_tail = format!("tend: {e}\n").into_bytes();
        Box::new(outcome)
    })?;
    let mut sink = LogSink::new(secrets);
    if matches!(spec.job.kind, JobKind::Playbook(_)) {
        sink.watch(secrets::vault_hint);
    }
    let Some((program, mut args)) = command_line(spec) else {
        return Err(Box::new(Outcome::failed(
            "stack jobs are not run as processes".into(),
        )));
    };
    let mut env = base_env(spec);
    let is_playbook = matches!(spec.job.kind, JobKind::Playbook(_));
    if is_playbook {
        let shared = spec.work.parent().unwrap_or(&spec.work).join("ansible");
        let extra = ansible::environment(&spec.work, &shared).map_err(|e| {
            let why = format!("cannot prepare {}: {e}", spec.work.display());
            Box::new(Outcome::failed(why))
        })?;
        env.extend(extra);
    }
    env.extend(vars);
    args.extend(vault_args);
    sink.note(&format!(
        "tend: running {} {}",
        program.display(),
        args.join(" ")
    ));
    let mut cmd = tokio::process::Command::new(&program);
    cmd.args(&args)
        .current_dir(&spec.dir)
        .env_clear()
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    // fork/exec on the blocking pool: many jobs due at one instant start in
    // parallel instead of queueing behind each other on the async workers.
    let spawned = tokio::task::spawn_blocking(move || cmd.spawn())
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)));
    let started_at = chrono::Utc::now();
    match spawned {
        Ok(child) => Ok((child, sink, started_at)),
        Err(e) => {
            let reason = if is_playbook && e.kind() == std::io::ErrorKind::NotFound {
                ansible::INSTALL_HINT.to_owned()
            } else {
                format!("cannot start {}: {e}", program.display())
            };
            sink.note(&reason);
            let mut outcome = Outcome::failed(reason);
            outcome.log_tail = sink.finish();
            Err(Box::new(outcome))
        }
    }
}

/// What watches a running process: its time limit, its process group,
/// where log chunks go and the stop signal.
struct Watch {
    timeout: Duration,
    pid: Option<i32>,
    chunks: mpsc::UnboundedSender<Vec<u8>>,
    stop: watch::Receiver<bool>,
}

impl Watch {
    /// Logs `lines` until `child` exits, flushing chunks every second;
    /// the time limit or `stop` ends the process group (TERM, then KILL
    /// after the grace). The exit status and, when tend ended it, why.
    async fn until_exit(
        mut self,
        child: &mut tokio::process::Child,
        lines: &mut mpsc::Receiver<(Stream, String)>,
        sink: &mut LogSink,
    ) -> (
        Option<std::process::ExitStatus>,
        Option<(RunStatus, String)>,
    ) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        let mut ended_by: Option<(RunStatus, String)> = None;
        let exit = loop {
            tokio::select! {
                Some((stream, line)) = lines.recv() => sink.line(stream, &line),
                _ = flush.tick() => {
                    let chunk = sink.take_pending();
                    if !chunk.is_empty() {
                        let _ = self.chunks.send(chunk);
                    }
                }
                status = child.wait() => break status.ok(),
                _ = tokio::time::sleep_until(deadline), if ended_by.is_none() => {
                    let why = format!("timed out after {}", humantime(self.timeout));
                    sink.note(&format!("tend: {why}; stopping the process group"));
                    ended_by = Some((RunStatus::TimedOut, why));
                    end_group(self.pid);
                }
                _ = self.stop.wait_for(|s| *s), if ended_by.is_none() => {
                    sink.note("tend: stopping the run (shutdown or replaced)");
                    let why = "stopped by tend (shutdown or concurrency: replace)";
                    ended_by = Some((RunStatus::Interrupted, why.into()));
                    end_group(self.pid);
                }
            }
        };
        (exit, ended_by)
    }
}

/// TERM to the process group `pid` now, KILL after [`KILL_GRACE`].
fn end_group(pid: Option<i32>) {
    kill_group(pid, libc::SIGTERM);
    spawn_killer(pid);
}

/// The run's status and reason from how it ended: tend's reason when tend
/// ended it, else the exit code (explained for ansible-playbook).
fn verdict(
    ended_by: Option<(RunStatus, String)>,
    code: Option<i32>,
    is_playbook: bool,
) -> (RunStatus, Option<String>) {
    match (ended_by, code) {
        (Some((status, why)), _) => (status, Some(why)),
        (None, Some(0)) => (RunStatus::Succeeded, None),
        (None, Some(c)) if is_playbook => {
            (RunStatus::Failed, ansible::explain(c).map(str::to_owned))
        }
        (None, Some(c)) => (RunStatus::Failed, Some(format!("exited with code {c}"))),
        (None, None) => (RunStatus::Failed, Some("killed by a signal".to_owned())),
    }
}

/// The environment every job starts from: `PATH` and `HOME` of tend's
/// host (or defaults), `LANG`, the job's time zone and tend's run details.
fn base_env(spec: &RunSpec) -> Vec<(String, String)> {
    let host = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_owned());
    let tz = spec
        .job
        .schedule
        .as_ref()
        .map_or("UTC".to_owned(), |s| s.timezone().name().to_owned());
    vec![
        ("PATH".into(), host("PATH", "/usr/local/bin:/usr/bin:/bin")),
        ("HOME".into(), host("HOME", "/")),
        ("LANG".into(), "C.UTF-8".into()),
        ("TZ".into(), tz),
    ]
}

async fn read_lines(
    mut pipe: impl tokio::io::AsyncRead + Unpin,
    stream: Stream,
    tx: mpsc::Sender<(Stream, String)>,
) {
    let mut buf = [0u8; 8192];
    let mut acc: Vec<u8> = Vec::new();
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        acc.extend_from_slice(&buf[..n]);
        while let Some(pos) = acc.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = acc.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]).into_owned();
            if tx.send((stream, text)).await.is_err() {
                return;
            }
        }
        if acc.len() > MAX_LINE {
            let text = String::from_utf8_lossy(&acc).into_owned();
            acc.clear();
            if tx.send((stream, text)).await.is_err() {
                return;
            }
        }
    }
    if !acc.is_empty() {
        let _ = tx
            .send((stream, String::from_utf8_lossy(&acc).into_owned()))
            .await;
    }
}

fn kill_group(pid: Option<i32>, signal: i32) {
    if let Some(pid) = pid.filter(|p| *p > 1) {
        // SAFETY: kill(2) with a negative pid signals the process group the
        // child leads (it was started with process_group(0)); no memory is shared.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

fn spawn_killer(pid: Option<i32>) {
    tokio::spawn(async move {
        tokio::time::sleep(KILL_GRACE).await;
        kill_group(pid, libc::SIGKILL);
    });
}

pub use crate::model::humantime;

/// A private work folder for one run under `root`.
pub fn work_dir(root: &Path, run: u64) -> PathBuf {
    root.join(format!("run-{run}"))
}

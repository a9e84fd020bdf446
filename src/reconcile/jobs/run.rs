//! One job run in flight: the process (through `runner`), its log chunks
//! into the store, retries with backoff, and the final record.
//!
//! The run is recorded before its task starts (the scheduler does that in
//! the transaction that marks the instant fired), so a crash mid-run
//! leaves a `running` record that the next start closes as interrupted —
//! never a run that happened without a trace. Each attempt is its own
//! record with the same job and instant; only the last attempt's failure
//! raises an alert, so a retry that succeeds tells nobody. Log chunks are
//! written in order by one writer task while the process runs, so the
//! status page can follow a long run live and a crash keeps what was
//! written. A stack job's attempt does not start a process: it asks the
//! stacks controller, which runs it between its passes.

use super::env::RunEnv;
use crate::model::{Job, JobKind, Run, RunStatus, Trigger};
use crate::reconcile::audit;
use crate::reconcile::stacks::StacksError;
use crate::runner::{self, RunSpec};
use crate::store::{Retention, Store};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

/// A run in flight, as the scheduler tracks it.
pub struct Active {
    /// Identifies this task to the scheduler.
    pub token: u64,
    run_id: watch::Receiver<u64>,
    stop: watch::Sender<bool>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Active {
    /// Id of the attempt running now.
    pub fn run_id(&self) -> u64 {
        *self.run_id.borrow()
    }

    /// Asks the run to stop (it ends `interrupted`, with no retry).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// The task, to wait for it.
    pub fn take_handle(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        self.handle.take()
    }
}

/// Everything a run task needs.
pub struct Launch {
    /// Where runs and logs go.
    pub store: Store,
    /// Scheduler settings.
    pub config: RunEnv,
    /// Snapshot folder of the commit in force.
    pub dir: PathBuf,
    /// The job.
    pub job: Job,
    /// Task token.
    pub token: u64,
    /// Told `(job, token)` when the task ends.
    pub done: mpsc::UnboundedSender<(String, u64, Run)>,
}

/// A new run record (not stored yet).
pub fn new_run(
    job: &Job,
    trigger: Trigger,
    instant: Option<DateTime<Utc>>,
    commit: &str,
    status: RunStatus,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Run {
    Run {
        id: 0,
        job: job.name.clone(),
        trigger,
        scheduled_for: instant,
        started_at: (status == RunStatus::Running).then_some(now),
        finished_at: (!matches!(status, RunStatus::Running | RunStatus::Waiting)).then_some(now),
        status,
        exit_code: None,
        commit: Some(commit.to_owned()).filter(|c| !c.is_empty()),
        attempt: 1,
        recap: Vec::new(),
        reason,
    }
}

/// Starts the task of a recorded run: its attempts, then telling the
/// scheduler (`(job, token)` on `done`) that the job's slot is free.
pub fn spawn(launch: Launch, run: Run) -> Active {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (id_tx, id_rx) = watch::channel(run.id);
    let token = launch.token;
    let span = tracing::info_span!("run", job = %launch.job.name, run = run.id);
    let handle = tokio::spawn(
        async move {
            let (job, done) = (launch.job.name.clone(), launch.done.clone());
            let last = attempts(launch, run, stop_rx, id_tx).await;
            let _ = done.send((job, token, last));
        }
        .instrument(span),
    );
    Active {
        token,
        run_id: id_rx,
        stop: stop_tx,
        handle: Some(handle),
    }
}

/// Runs attempts of `run` until one succeeds, the retries are used up or
/// a stop is asked for; waits the job's backoff between attempts. A stop
/// during the wait ends the run at once, without a further attempt.
async fn attempts(
    launch: Launch,
    mut run: Run,
    mut stop: watch::Receiver<bool>,
    id: watch::Sender<u64>,
) -> Run {
    // Scheduled runs are recorded a little ahead; start exactly on the instant.
    if let Some(wait) = run
        .scheduled_for
        .and_then(|t| (t - launch.config.clock.now()).to_std().ok())
    {
        tokio::time::sleep(wait).await;
    }
    loop {
        attempt(&launch, &mut run, stop.clone()).await;
        if !retries(&launch.job, &run, &stop) {
            return run;
        }
        tokio::select! {
            _ = tokio::time::sleep(launch.job.retries.backoff) => {}
            _ = crate::reconcile::triggers::stopped(&mut stop) => return run,
        }
        let mut next = new_run(
            &launch.job,
            Trigger::Retry,
            run.scheduled_for,
            run.commit.as_deref().unwrap_or(""),
            RunStatus::Running,
            None,
            launch.config.clock.now(),
        );
        next.attempt = run.attempt + 1;
        let retry = audit::logged(&launch.store, "cannot record retry", move |s| {
            s.start_run(next, None)
        });
        let Some(Some(r)) = retry.await else {
            return run;
        };
        run = r;
        let _ = id.send(run.id);
    }
}

/// Runs one attempt to its end and stores the result: the process (or the
/// stack action), its log streamed into the store, then its outcome and the
/// alerts it causes, in one write.
async fn attempt(launch: &Launch, run: &mut Run, stop: watch::Receiver<bool>) -> RunStatus {
    let stop_seen = stop.clone();
    let hub = &launch.config.observers.hub;
    hub.publish(crate::live::Notice::RunStarted {
        run: run.id,
        job: run.job.clone(),
    });
    let (chunks, writer) = log_writer(launch.store.clone(), run.id);
    let outcome = match &launch.job.kind {
        JobKind::Stack {
            stack,
            action,
            services,
        } => {
            drop(chunks);
            let req = (stack.clone(), *action, services.clone());
            stack_job(launch, req).await
        }
        _ => {
            let work = runner::work_dir(&launch.config.work_root, run.id);
            let spec = RunSpec {
                job: launch.job.clone(),
                dir: launch.dir.clone(),
                work: work.clone(),
                ansible_playbook: launch.config.ansible_playbook.clone(),
            };
            let outcome = launch.config.runner.execute(spec, chunks, stop).await;
            let _ = tokio::fs::remove_dir_all(&work).await;
            outcome
        }
    };
    let _ = writer.await;
    finish(launch, run, outcome, &stop_seen).await;
    hub.publish(crate::live::Notice::RunFinished {
        run: run.id,
        job: run.job.clone(),
        status: crate::model::word(&run.status),
    });
    run.status
}

/// A channel for the log chunks of run `id` and the task that stores them
/// in order; the task ends when the sender is dropped. Unbounded, so a
/// slow disk never blocks the process's output; a chunk the store refuses
/// is logged and dropped.
fn log_writer(
    store: Store,
    id: u64,
) -> (mpsc::UnboundedSender<Vec<u8>>, tokio::task::JoinHandle<()>) {
    let (chunks_tx, mut chunks_rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        let mut n = 0u32;
        while let Some(chunk) = chunks_rx.recv().await {
            let append = move |s: Store| s.append_log(id, n, &chunk);
            audit::logged(&store, "cannot store log chunk", append).await;
            n += 1;
        }
    });
    (chunks_tx, writer)
}

/// A stack job's attempt: the action goes to the stacks controller, which
/// answers with the log lines or why it failed, once the pass after the
/// action has ended. A controller that is not running, or stops before it
/// answers, fails the attempt saying so.
async fn stack_job(
    launch: &Launch,
    (stack, action, services): (String, crate::model::StackAction, Vec<String>),
) -> runner::Outcome {
    let (reply, answer) = tokio::sync::oneshot::channel();
    let req = crate::reconcile::stacks::StackRequest {
        job: launch.job.name.clone(),
        stack,
        action,
        services,
        reply,
    };
    let started_at = Some(launch.config.clock.now());
    let sent = match &launch.config.stacks {
        Some(tx) => tx.send(req).await.is_ok(),
        None => false,
    };
    let result = match sent {
        true => answer.await.unwrap_or(Err(StacksError::Stopped)),
        false => Err(StacksError::NotRunning),
    };
    stack_outcome(result, started_at)
}

/// Writes the attempt's `outcome` into `run`, counts it, and stores it with
/// the alerts it causes (a failure's alert waits for the last attempt).
async fn finish(
    launch: &Launch,
    run: &mut Run,
    outcome: runner::Outcome,
    stop: &watch::Receiver<bool>,
) {
    // The actual start: when the process was spawned.
    run.started_at = outcome.started_at.or(run.started_at);
    run.status = outcome.status;
    run.exit_code = outcome.exit_code;
    run.recap = outcome.recap;
    run.reason = outcome.reason;
    run.finished_at = Some(launch.config.clock.now());
    tracing::info!(job = %run.job, run = run.id, status = ?run.status, "run finished");
    let at = run.finished_at.unwrap_or_else(|| launch.config.clock.now());
    let metrics = &launch.config.observers.metrics;
    metrics.run_finished(&run.job, run.status, run.seconds(), at);
    let record = run.clone();
    let tail = outcome.log_tail;
    let last = !retries(&launch.job, run, stop);
    let letters = match &launch.config.mail {
        Some(mail) => mail.run(run, &log_end(launch, run, &tail).await, last),
        None => Vec::new(),
    };
    let finish = move |s: Store| s.finish_run(&record, Retention::default(), &tail, &letters);
    audit::logged(&launch.store, "cannot record run result", finish).await;
}

/// Whether a retry follows `run`: it failed or timed out, attempts are
/// left, and no stop was asked for (an interrupted or skipped run is never
/// retried).
fn retries(job: &Job, run: &Run, stop: &watch::Receiver<bool>) -> bool {
    matches!(run.status, RunStatus::Failed | RunStatus::TimedOut)
        && run.attempt <= job.retries.count
        && !*stop.borrow()
}

/// The end of a failed run's log for its alert: the chunks already stored
/// and the tail not yet written (a success's alert carries no log).
async fn log_end(launch: &Launch, run: &Run, tail: &[u8]) -> Vec<u8> {
    if !matches!(run.status, RunStatus::Failed | RunStatus::TimedOut) {
        return Vec::new();
    }
    let id = run.id;
    let log = audit::logged(&launch.store, "cannot read the log", move |s| {
        s.reader().log(id)
    });
    let mut log = log.await.unwrap_or_default();
    log.extend_from_slice(tail);
    log
}

/// The outcome of a stack job from the controller's answer: its log lines
/// as the run's log, a failure's reason from the controller's error.
fn stack_outcome(
    result: Result<Vec<String>, StacksError>,
    started_at: Option<DateTime<Utc>>,
) -> runner::Outcome {
    let (status, exit_code, reason, text) = match result {
        Ok(lines) => (RunStatus::Succeeded, Some(0), None, lines.join("\n")),
        Err(e) => {
            let e = e.to_string();
            let first = e.lines().last().unwrap_or("").to_owned();
            (RunStatus::Failed, None, Some(first), e)
        }
    };
    runner::Outcome {
        status,
        exit_code,
        recap: Vec::new(),
        reason,
        log_tail: format!("{text}\n").into_bytes(),
        started_at,
    }
}

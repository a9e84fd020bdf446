//! Starting the daemon's parts and stopping them in order: the commits
//! controller with its triggers (poll or folder watch, interval), the
//! stacks controller, the scheduler, the notification courier and the web
//! server, all sharing one stop signal.

use super::wire::{self, Secrets};
use super::{DaemonError, Options};
use crate::live::Observers;
use crate::reconcile::commits::Commits;
use crate::reconcile::jobs::{Manual, Processes, RunEnv, Scheduler};
use crate::reconcile::notify::deliver::Courier;
use crate::reconcile::notify::letters::Letters;
use crate::reconcile::notify::post::Http;
use crate::reconcile::queue::{Queue, Reason};
use crate::reconcile::stacks::Stacks;
use crate::reconcile::triggers as timers;
use crate::source::Source;
use crate::store::Store;
use crate::web;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// The running parts, to stop them.
pub struct Running {
    cancel: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
    commits: JoinHandle<()>,
    scheduler: JoinHandle<()>,
    stacks: JoinHandle<()>,
    web: JoinHandle<std::io::Result<()>>,
    _watcher: Option<crate::source::dir::Watcher>,
}

impl Running {
    /// Stops every part: the commit in progress and job runs get `grace`.
    pub async fn stop(self, grace: Duration) {
        self.cancel.store(true, Ordering::Relaxed);
        let _ = self.stop.send(true);
        if tokio::time::timeout(grace, self.commits).await.is_err() {
            tracing::warn!("work in flight did not finish within the grace period");
        }
        let job_grace = grace + Duration::from_secs(1);
        if tokio::time::timeout(job_grace, self.scheduler)
            .await
            .is_err()
        {
            tracing::warn!("job runs did not stop within the grace period");
        }
        let _ = tokio::time::timeout(grace, self.stacks).await;
        let _ = tokio::time::timeout(grace, self.web).await;
    }
}

/// What the parts share: the stop signal, the queue of the commits
/// controller, where metrics and notices go.
struct Shared {
    stop: watch::Receiver<bool>,
    queue: Arc<Queue>,
    observers: Observers,
}

/// Starts every part on `store`, serving the web layer on `listener`.
pub async fn start(
    options: &Options,
    store: Store,
    secrets: Secrets,
    listener: tokio::net::TcpListener,
) -> Result<Running, DaemonError> {
    let cancel = Arc::new(AtomicBool::new(false));
    let (stop, stop_rx) = watch::channel(false);
    let shared = Shared {
        stop: stop_rx,
        queue: Arc::new(Queue::default()),
        observers: Observers::default(),
    };
    let (source, shown) = wire::source(options, secrets.git.clone(), cancel.clone())?;
    let status = wire::initial_status(options.branch.clone(), shown, source.mode());
    let (status_tx, status_rx) = watch::channel(status);
    let watch_dir = match &source {
        Source::Dir(d) => Some(d.path().to_owned()),
        Source::Git(_) => None,
    };
    let commits = Commits::new(source, store.clone(), status_tx, shared.queue.clone())
        .with_observers(shared.observers.clone());
    let applied = commits.applied();
    let letters = Letters::new(applied.clone(), Some(status_rx.clone()));
    let mut commits = commits.with_letters(letters.clone());
    if let Err(e) = commits.restore().await {
        tracing::warn!(cause = %e, "could not restore the commit in force; waiting for a fetch");
    }
    let watcher = triggers(options, &shared, watch_dir.as_deref(), &commits)?;
    let (stacks, stacks_view, stack_tx) = stacks(options, &store, &shared, &letters);
    let (scheduler, manual) = jobs(options, &store, &shared, &letters, stack_tx);
    courier(options, &store, &shared);
    let q = shared.queue.clone();
    let state = web::AppState {
        status: status_rx,
        store: store.reader(),
        webhook_secret: secrets.webhook.map(Arc::new),
        on_push: Arc::new(move || q.request(Reason::Webhook)),
        poll_interval: watch_dir.is_none().then_some(options.poll_interval),
        applied,
        api_token: secrets.api.clone().map(Arc::new),
        trigger: secrets.api.is_some().then(|| trigger(manual)),
        stacks: stacks_view,
        metrics: shared.observers.metrics.clone(),
        view_token: secrets.view.map(Arc::new),
        live: shared.observers.hub.clone(),
        pages: Default::default(),
    };
    tracing::info!(addr = ?listener.local_addr().ok(), "listening");
    let mut web_stop = shared.stop.clone();
    let web = tokio::spawn(web::serve(listener, web::router(state), async move {
        timers::stopped(&mut web_stop).await
    }));
    let commits = tokio::spawn(commits.run(shared.stop));
    Ok(Running {
        cancel,
        stop,
        commits,
        scheduler,
        stacks,
        web,
        _watcher: watcher,
    })
}

/// Starts the stacks controller; returns its task, its view for the web
/// layer and where stack jobs send their actions.
fn stacks(
    options: &Options,
    store: &Store,
    shared: &Shared,
    letters: &Letters,
) -> (
    JoinHandle<()>,
    watch::Receiver<Vec<crate::plan::view::StackStatus>>,
    mpsc::Sender<crate::reconcile::stacks::StackRequest>,
) {
    let root = options.stacks_dir.clone();
    let stacks = Stacks::new(store.clone(), letters.applied(), &options.data)
        .with_work_root(root.unwrap_or_else(|| options.data.join("stacks")))
        .with_observers(shared.observers.clone())
        .with_letters(letters.clone());
    let view = stacks.view();
    let (tx, rx) = mpsc::channel(64);
    (tokio::spawn(stacks.run(rx, shared.stop.clone())), view, tx)
}

/// Starts the scheduler with the real runner and clock; returns its task
/// and where manual runs go.
fn jobs(
    options: &Options,
    store: &Store,
    shared: &Shared,
    letters: &Letters,
    stacks: mpsc::Sender<crate::reconcile::stacks::StackRequest>,
) -> (JoinHandle<()>, mpsc::Sender<Manual>) {
    let work_root = options.data.join("work");
    let left = crate::runner::secrets::remove_leftovers(&work_root);
    if left > 0 {
        tracing::info!(
            folders = left,
            "removed run folders left by an earlier crash"
        );
    }
    let env = RunEnv {
        work_root,
        ansible_playbook: options.ansible_playbook.clone(),
        grace: options.shutdown_grace,
        stacks: Some(stacks),
        observers: shared.observers.clone(),
        mail: Some(letters.clone()),
        runner: Arc::new(Processes),
        clock: crate::reconcile::clock::system(),
    };
    let (manual, manual_rx) = mpsc::channel::<Manual>(64);
    let scheduler = Scheduler::new(store.clone(), env, letters.applied());
    (
        tokio::spawn(scheduler.run(manual_rx, shared.stop.clone())),
        manual,
    )
}

/// Starts the notification courier over HTTP (off, with an error logged,
/// when no HTTP client can be made).
fn courier(options: &Options, store: &Store, shared: &Shared) {
    match Http::new() {
        Ok(http) => {
            let courier = Courier {
                store: store.clone(),
                metrics: shared.observers.metrics.clone(),
                backoff: options.notify_backoff,
                post: Arc::new(http),
                clock: crate::reconcile::clock::system(),
            };
            tokio::spawn(courier.run(shared.stop.clone()));
        }
        Err(e) => tracing::error!(cause = %e, "notifications are off: no HTTP client"),
    }
}

/// Starts the commits controller's triggers: the folder watch in dev mode,
/// else the poll timer; and the interval timer.
fn triggers(
    options: &Options,
    shared: &Shared,
    watch_dir: Option<&std::path::Path>,
    commits: &Commits,
) -> Result<Option<crate::source::dir::Watcher>, DaemonError> {
    let queue = shared.queue.clone();
    tokio::spawn(timers::interval(
        queue.clone(),
        commits.applied(),
        shared.stop.clone(),
    ));
    let Some(dir) = watch_dir else {
        let failures = commits.failures.clone();
        let poll = timers::poll(queue, options.poll_interval, failures, shared.stop.clone());
        tokio::spawn(poll);
        return Ok(None);
    };
    let on_change = move || queue.request(Reason::FileChange);
    let watcher = crate::source::dir::watch(dir, Duration::from_millis(300), on_change);
    watcher.map(Some).map_err(|e| DaemonError::Watch {
        path: dir.to_owned(),
        why: e.to_string(),
    })
}

/// Manual runs from the API, handed to the scheduler.
fn trigger(manual: mpsc::Sender<Manual>) -> web::TriggerFn {
    Arc::new(move |job| {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let (told, said) = tokio::sync::oneshot::channel();
        if manual.try_send(Manual { job, reply }).is_err() {
            tracing::warn!("manual run refused: the scheduler is busy or stopped");
        }
        tokio::spawn(async move {
            if let Ok(answer) = answer.await {
                let _ = told.send(answer.map_err(|e| e.to_string()));
            }
        });
        said
    })
}

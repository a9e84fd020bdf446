//! The stacks controller: keeps the Docker hosts matching the commit in
//! force. Each pass (new commit, reconcile interval, Docker event, sleep
//! window boundary, stack job) observes, plans and applies; drift is healed
//! only when `self_heal` is on and the brake allows. Stack jobs come in as
//! requests and run between passes, so two changes to one stack never race.
//!
//! A pass, in order:
//!
//! 1. Render the commit's stacks and observe every host concerned
//!    ([`hosts::Hosts`]); a full pass (new commit, interval) first carries
//!    old bind copies into working directories (`migrate`).
//! 2. Tell hosts that went away or came back, and set the retry: while a
//!    host is unreachable, [`HOST_RETRY`] asks for passes at growing
//!    waits, reset when every host answers.
//! 3. Plan; decide each drifting stack (`heal`): heal, tell, or hold by
//!    the brake; apply what is let through (`pass::apply`).
//! 4. Record each apply and last plan (`report`), tell removed stacks
//!    where their data stays (`removed`), observe again after changes.
//! 5. Remember deployed services and hosts (`memory`), compute the next
//!    sleep-window boundary, publish the view and tell health changes.
//!
//! Everything a pass decides comes from the commit, what it observes and
//! what the store keeps (holds, deployed services, last plans), so a
//! restarted daemon decides as the one before it did.

pub mod brake;
mod cycle;
pub mod engines;
mod error;
mod events;
#[cfg(test)]
mod fake;
mod heal;
pub mod hosts;
mod jobs;
mod memory;
mod migrate;
pub mod pass;
pub mod remote;
mod removed;
mod report;
#[cfg(test)]
mod tests;
pub mod work;

use super::backoff::Backoff;
use super::clock::{self, SharedClock};
use super::keys;
use super::queue::{Queue, Reason};
use crate::reconcile::triggers;
use brake::Brake;
use engines::Engines;
pub use error::StacksError;
use hosts::Hosts;

use crate::model::{Applied, StackAction};
use crate::plan::Holds;
use crate::plan::view::{LastPlan, StackStatus};
use crate::store::Store;
use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

/// Wait after a Docker event before reconciling.
const EVENT_SETTLE: Duration = Duration::from_millis(250);
/// When a Docker event's stack is looked at once more (the list can lag the
/// event by more than [`EVENT_SETTLE`] on a loaded host).
const EVENT_CONFIRM: Duration = Duration::from_secs(2);

/// How soon an unreachable host is looked at again: 2 s, doubling to 1 min.
const HOST_RETRY: Backoff = Backoff::new(Duration::from_secs(2), 2, Duration::from_secs(60));

/// A stack job's request: run `action` and answer with the log lines.
pub struct StackRequest {
    /// The job asking.
    pub job: String,
    /// Stack name.
    pub stack: String,
    /// What to do.
    pub action: StackAction,
    /// Services; empty means all.
    pub services: Vec<String>,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Result<Vec<String>, StacksError>>,
}

/// The controller's state, over the Docker hosts `H` (the real engines
/// unless a test says otherwise).
pub struct Stacks<H: Hosts = Engines> {
    /// Where events, holds and last plans are kept.
    store: Store,
    /// Pending pass requests (commits, interval, events, windows, jobs).
    queue: Arc<Queue>,
    /// The commit in force, from the commits controller.
    applied: watch::Receiver<Option<Arc<Applied>>>,
    /// The Docker hosts (engine connections, kept between passes).
    hosts: H,
    /// The wall clock (sleep windows, event times).
    clock: SharedClock,
    /// What the page and API show of each stack.
    view: watch::Sender<Vec<StackStatus>>,
    /// The self-heal brake.
    brake: Brake,
    /// Services a stack job stopped or paused (kept across restarts).
    holds: Holds,
    /// `(stack, service)` pairs deployed before: a missing container of one
    /// is drift, not a new service.
    deployed: BTreeSet<(String, String)>,
    /// Hosts that held managed containers (looked at even when no stack
    /// names them any more, so leftovers can be pruned).
    hosts_seen: BTreeSet<String>,
    /// Stacks whose last apply failed, with why (shown degraded).
    failed: BTreeMap<String, String>,
    /// Each stack's last applied plan and how it went.
    last: BTreeMap<String, LastPlan>,
    /// The commit of the last full pass.
    commit: Option<String>,
    /// Hosts that could not be observed on the last pass.
    unreachable: BTreeSet<String>,
    /// Drifts told already (`stack:reason`), kept while they last.
    drift_told: BTreeSet<String>,
    /// Stacks told degraded (event written), until they are in sync again.
    degraded_told: BTreeSet<String>,
    /// Hosts whose Docker events are followed.
    followed: BTreeSet<String>,
    /// When the next sleep window opens or closes.
    next_wake: Option<chrono::DateTime<Utc>>,
    /// The stacks' working directories.
    layout: work::Layout,
    /// The data folder.
    data: std::path::PathBuf,
    /// Stack → `remove_data` as the last commit that had it said.
    remove_data: BTreeMap<String, bool>,
    /// Where metrics and live notices go.
    observers: crate::live::Observers,
    /// Turns events into alerts.
    mail: Option<crate::reconcile::notify::letters::Letters>,
    /// Set while a host is unreachable: when to look again.
    retry: Option<Duration>,
    /// Passes in a row that found a host unreachable.
    unreachable_passes: u32,
}

impl Stacks {
    /// A controller of the real engines following `applied`; TLS files go
    /// under `data/tls`.
    pub fn new(
        store: Store,
        applied: watch::Receiver<Option<Arc<Applied>>>,
        data: &std::path::Path,
    ) -> Self {
        let engines = Engines::new(data.join("tls"));
        Stacks::with_hosts(store, applied, data, engines)
    }
}

impl<H: Hosts> Stacks<H> {
    /// A controller of `hosts` following `applied`, keeping its working
    /// directories under `data/stacks`.
    pub fn with_hosts(
        store: Store,
        applied: watch::Receiver<Option<Arc<Applied>>>,
        data: &std::path::Path,
        hosts: H,
    ) -> Self {
        // What earlier runs stored; unreadable or absent starts empty.
        /// A stored value, or the default when absent or unreadable.
        fn load<T: serde::Serialize + serde::de::DeserializeOwned + Default>(
            store: &Store,
            key: crate::store::Key<T>,
        ) -> T {
            store.get(key).ok().flatten().unwrap_or_default()
        }
        let holds = load(&store, keys::STACK_HOLDS);
        let deployed = load(&store, keys::STACKS_DEPLOYED);
        let hosts_seen = load(&store, keys::STACK_HOSTS);
        let last = load(&store, keys::STACKS_LAST_PLAN);
        let remove_data = load(&store, keys::STACKS_REMOVE_DATA);
        Stacks {
            store,
            queue: Arc::new(Queue::default()),
            applied,
            hosts,
            clock: clock::system(),
            layout: work::Layout::Work(work::Works::new(&data.join("stacks"))),
            data: data.to_owned(),
            remove_data,
            view: watch::Sender::new(Vec::new()),
            brake: Brake::default(),
            holds,
            deployed,
            hosts_seen,
            failed: BTreeMap::new(),
            last,
            commit: None,
            unreachable: BTreeSet::new(),
            drift_told: BTreeSet::new(),
            degraded_told: BTreeSet::new(),
            followed: BTreeSet::new(),
            next_wake: None,
            retry: None,
            unreachable_passes: 0,
            observers: crate::live::Observers::default(),
            mail: None,
        }
    }

    /// Keeps the working directories under `root` instead of `DATA/stacks`
    /// (when tend runs in a container, a folder bound at the same path on
    /// the host, so the engine finds what tend placed).
    pub fn with_work_root(mut self, root: std::path::PathBuf) -> Self {
        self.layout = work::Layout::Work(work::Works::new(&root));
        self
    }

    /// Reads the time of day from `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Reports to `observers` (metrics, live notices).
    pub fn with_observers(mut self, observers: crate::live::Observers) -> Self {
        self.observers = observers;
        self
    }

    /// Sends alerts about stack events through `mail`.
    pub fn with_letters(mut self, mail: crate::reconcile::notify::letters::Letters) -> Self {
        self.mail = Some(mail);
        self
    }

    /// Follows the stacks view (for the web layer).
    pub fn view(&self) -> watch::Receiver<Vec<StackStatus>> {
        self.view.subscribe()
    }

    /// Runs until `shutdown`; a pass in progress finishes first. Waits on
    /// the queue, stack job requests, a new commit in force, the reconcile
    /// interval, the next sleep-window boundary and, while a host is
    /// unreachable, its retry — each only puts a reason on the queue or
    /// runs a stack job; the passes come from the queue.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<StackRequest>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        self.queue.request(Reason::Startup);
        let mut next_interval = tokio::time::Instant::now() + self.interval();
        loop {
            let wake = self
                .next_wake
                .and_then(|t| (t - self.clock.now()).to_std().ok())
                .unwrap_or(Duration::from_secs(24 * 3600));
            tokio::select! {
                reasons = self.queue.next() => {
                    let why: Vec<&str> = reasons.iter().map(|r| r.word()).collect();
                    let commit = self.applied.borrow().as_ref().map(|a| a.commit.clone());
                    let commit = commit.as_deref().map(crate::model::short_commit).map(str::to_owned);
                    let span = tracing::info_span!("stacks", reason = %why.join(", "), commit = commit.as_deref().unwrap_or("-"));
                    let started = Instant::now();
                    self.pass(&reasons).instrument(span.clone()).await;
                    self.observers.metrics.reconciled(started.elapsed().as_secs_f64());
                    span.in_scope(|| tracing::debug!("stacks pass done"));
                }
                Some(req) = requests.recv() => self.action(req).await,
                changed = self.applied.changed() => {
                    if changed.is_err() { return }
                    self.queue.request(Reason::NewCommit);
                    // The commit's interval holds from now (the first one
                    // was reckoned before any commit was in force).
                    next_interval = next_interval.min(tokio::time::Instant::now() + self.interval());
                }
                _ = tokio::time::sleep_until(next_interval) => {
                    next_interval = tokio::time::Instant::now() + self.interval();
                    self.queue.request(Reason::Interval);
                }
                _ = tokio::time::sleep(wake + Duration::from_millis(50)) => {
                    self.next_wake = None;
                    self.queue.request(Reason::SleepWindow);
                }
                _ = tokio::time::sleep(self.retry.unwrap_or_default()), if self.retry.is_some() => {
                    self.queue.request(Reason::DockerEvent);
                }
                _ = triggers::stopped(&mut shutdown) => return,
            }
        }
    }

    /// `[reconcile].interval` of the commit in force (at least 1 s).
    fn interval(&self) -> Duration {
        self.applied
            .borrow()
            .as_ref()
            .map_or(triggers::DEFAULT_INTERVAL, |a| {
                a.desired.settings.reconcile_interval
            })
            .max(Duration::from_secs(1))
    }
}

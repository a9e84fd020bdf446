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
use pass::Observation;

use crate::model::{Applied, StackAction};
use crate::plan::view::{self, LastPlan, StackStatus};
use crate::plan::{self, Context, Holds, Plan};
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

    /// One pass: observe, plan, heal what the brake allows, apply, record,
    /// observe again after changes, publish the view and tell health.
    async fn pass(&mut self, reasons: &BTreeSet<Reason>) {
        let Some(app) = self.applied.borrow().clone() else {
            return;
        };
        if app.desired.stacks.is_empty() && self.hosts_seen.is_empty() {
            self.view.send_replace(Vec::new());
            return;
        }
        // A new commit or the interval: a full pass (also the upgrade check).
        let full = self.commit.as_deref() != Some(app.commit.as_str())
            || reasons.contains(&Reason::Interval);
        if full {
            self.brake.reset();
            self.failed.clear();
            self.commit = Some(app.commit.clone());
        }
        self.remember_remove_data(&app.desired).await;
        let obs = self.observe(&app).await;
        let obs = if full && self.migrate_binds(&obs).await {
            self.observe(&app).await
        } else {
            obs
        };
        self.hosts_changed(&obs, &app.commit).await;
        self.retry = if obs.hosts.values().any(Result::is_err) {
            self.unreachable_passes += 1;
            Some(HOST_RETRY.delay(self.unreachable_passes - 1))
        } else {
            self.unreachable_passes = 0;
            None
        };
        self.follow_events(&obs);
        let plan = self.plan(&obs, &app);
        let decisions = heal::decide(
            &plan,
            app.desired.settings.self_heal,
            &mut self.brake,
            &mut self.drift_told,
            tokio::time::Instant::now().into_std(),
        );
        self.tell_drift(&decisions, &plan, &app.commit).await;
        let allowed = heal::healed(&decisions);
        let keep = |sp: &plan::StackPlan, c: &plan::Change| !c.drift || allowed.contains(&sp.stack);
        let results = pass::apply(&self.hosts, &plan, &obs, &app.commit, &keep).await;
        self.record_results(&results, &app.commit).await;
        self.removed(&results, &app.desired, &app.commit).await;
        let (obs, plan) = if results.is_empty() {
            (obs, plan)
        } else {
            let obs = self.observe(&app).await;
            let plan = self.plan(&obs, &app);
            (obs, plan)
        };
        self.remember(&obs).await;
        let mut overrides = self.brake.held().clone();
        overrides.extend(self.failed.clone());
        self.next_wake = plan::next_wake(&obs.targets, self.clock.now());
        let v = view::view(
            &plan,
            &obs.targets,
            &obs.hosts,
            &overrides,
            &self.last,
            &app.commit,
        );
        self.tell_health(&v, &app.commit).await;
        let old = self.view.send_replace(v);
        self.announce(&old);
    }

    /// A notice per stack whose sync or last plan differs from `old` (what
    /// the status page's live updates follow).
    fn announce(&self, old: &[StackStatus]) {
        for s in self.view.borrow().iter() {
            let before = old.iter().find(|o| o.name == s.name);
            let same = before.is_some_and(|o| o.sync == s.sync && o.last_plan == s.last_plan);
            if !same {
                self.observers
                    .hub
                    .publish(crate::live::Notice::StackChanged {
                        stack: s.name.clone(),
                        sync: crate::model::word(&s.sync),
                    });
            }
        }
    }

    /// Renders the commit's stacks and observes every host concerned: the
    /// stacks' hosts, the hosts declared by name, and the hosts that held
    /// managed containers before.
    async fn observe(&mut self, app: &Applied) -> Observation {
        pass::observe_all(
            &app.desired,
            &app.dir,
            &app.commit,
            &mut self.hosts,
            &self.hosts_seen,
            &mut self.layout,
        )
        .await
    }

    /// The plan from `obs` with the controller's holds and deployed set, at
    /// the controller's clock's now (sleep windows are decided by it).
    fn plan(&self, obs: &Observation, app: &Applied) -> Plan {
        let cx = Context {
            commit: &app.commit,
            prune: app.desired.settings.prune,
            now: self.clock.now(),
            holds: &self.holds,
            deployed: &self.deployed,
        };
        plan::plan(&obs.targets, &obs.hosts, &cx)
    }
}

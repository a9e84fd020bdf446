//! The stacks controller: keeps the Docker hosts matching the commit in
//! force. Each pass (new commit, reconcile interval, Docker event, sleep
//! window boundary, stack job) observes, plans and applies; drift is healed
//! only when `self_heal` is on and the brake allows. Stack jobs come in as
//! requests and run between passes, so two changes to one stack never race.

use super::brake::Brake;
use super::pass::{self, Engines, Observation};
use super::queue::{Queue, Reason};
use super::{record, timers};
use crate::docker::{actions, events};
use crate::model::{Applied, AuditKind, StackAction};
use crate::plan::view::{self, LastPlan, StackStatus};
use crate::plan::{self, Context, Hold, Holds, Plan};
use crate::store::Store;
use chrono::Utc;
use futures_util::StreamExt;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Wait after a Docker event before reconciling.
const EVENT_SETTLE: Duration = Duration::from_millis(250);

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
    pub reply: oneshot::Sender<Result<Vec<String>, String>>,
}

/// The controller's state.
pub struct Stacks {
    store: Store,
    queue: Arc<Queue>,
    applied: watch::Receiver<Option<Arc<Applied>>>,
    engines: Engines,
    view: watch::Sender<Vec<StackStatus>>,
    brake: Brake,
    holds: Holds,
    deployed: BTreeSet<(String, String)>,
    hosts_seen: BTreeSet<String>,
    failed: BTreeMap<String, String>,
    last: BTreeMap<String, LastPlan>,
    commit: Option<String>,
    unreachable: BTreeSet<String>,
    drift_told: BTreeSet<String>,
    followed: BTreeSet<String>,
    next_wake: Option<chrono::DateTime<Utc>>,
    /// Set while a host is unreachable: when to look again.
    retry: Option<Duration>,
}

impl Stacks {
    /// A controller following `applied`; TLS files go under `data/tls`.
    pub fn new(
        store: Store,
        applied: watch::Receiver<Option<Arc<Applied>>>,
        data: &std::path::Path,
    ) -> Self {
        let meta = |k: &str| store.meta::<serde_json::Value>(k).ok().flatten();
        let holds = meta("stack_holds")
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let deployed = meta("stacks_deployed")
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let hosts_seen = meta("stack_hosts")
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        Stacks {
            store,
            queue: Arc::new(Queue::default()),
            applied,
            engines: Engines::new(data.join("tls")),
            view: watch::Sender::new(Vec::new()),
            brake: Brake::default(),
            holds,
            deployed,
            hosts_seen,
            failed: BTreeMap::new(),
            last: BTreeMap::new(),
            commit: None,
            unreachable: BTreeSet::new(),
            drift_told: BTreeSet::new(),
            followed: BTreeSet::new(),
            next_wake: None,
            retry: None,
        }
    }

    /// Follows the stacks view (for the web layer).
    pub fn view(&self) -> watch::Receiver<Vec<StackStatus>> {
        self.view.subscribe()
    }

    /// Runs until `shutdown`; a pass in progress finishes first.
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
                .and_then(|t| (t - Utc::now()).to_std().ok())
                .unwrap_or(Duration::from_secs(24 * 3600));
            tokio::select! {
                reasons = self.queue.next() => {
                    tracing::debug!(?reasons, "stacks pass");
                    self.pass(&reasons).await;
                    tracing::debug!("stacks pass done");
                }
                Some(req) = requests.recv() => self.action(req).await,
                changed = self.applied.changed() => {
                    if changed.is_err() { return }
                    self.queue.request(Reason::NewCommit);
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
                _ = timers::stopped(&mut shutdown) => return,
            }
        }
    }

    fn interval(&self) -> Duration {
        self.applied
            .borrow()
            .as_ref()
            .map_or(timers::DEFAULT_INTERVAL, |a| {
                a.desired.settings.reconcile_interval
            })
            .max(Duration::from_secs(1))
    }

    async fn pass(&mut self, reasons: &BTreeSet<Reason>) {
        let Some(app) = self.applied.borrow().clone() else {
            return;
        };
        if app.desired.stacks.is_empty() && self.hosts_seen.is_empty() {
            self.view.send_replace(Vec::new());
            return;
        }
        if self.commit.as_deref() != Some(app.commit.as_str())
            || reasons.contains(&Reason::Interval)
        {
            self.brake.reset();
            self.failed.clear();
            self.commit = Some(app.commit.clone());
        }
        let obs =
            pass::observe_all(&app.desired, &app.dir, &mut self.engines, &self.hosts_seen).await;
        self.hosts_changed(&obs, &app.commit).await;
        self.retry = obs.hosts.values().any(Result::is_err).then(|| {
            self.retry.map_or(Duration::from_secs(2), |d| {
                (d * 2).min(Duration::from_secs(60))
            })
        });
        self.follow_events(&obs);
        let plan = self.plan(&obs, &app);
        let self_heal = app.desired.settings.self_heal;
        let now = Instant::now();
        let mut allowed: BTreeSet<String> = BTreeSet::new();
        for sp in plan
            .stacks
            .iter()
            .filter(|s| s.changes.iter().any(|c| c.drift))
        {
            let first = sp
                .changes
                .iter()
                .find(|c| c.drift)
                .map(|c| c.reason.clone())
                .unwrap_or_default();
            if !self_heal {
                let key = format!("{}:{first}", sp.stack);
                if self.drift_told.insert(key) {
                    let reason = format!("stack {}: {first} (self_heal is off)", sp.stack);
                    self.event(
                        AuditKind::Drift,
                        &app.commit,
                        reason,
                        json!({"changes": sp.changes}),
                    )
                    .await;
                }
            } else if self.brake.tripped(&sp.stack) {
            } else if let Err(why) = self.brake.heal(&sp.stack, now) {
                let reason = format!("stack {}: {why}", sp.stack);
                self.event(
                    AuditKind::Degraded,
                    &app.commit,
                    reason,
                    json!({"last_drift": first}),
                )
                .await;
            } else {
                allowed.insert(sp.stack.clone());
            }
        }
        let keep = |sp: &plan::StackPlan, c: &plan::Change| !c.drift || allowed.contains(&sp.stack);
        let results = pass::apply(&plan, &obs, &app.commit, &keep).await;
        for r in &results {
            let errors: Vec<String> = r.steps.iter().filter_map(|s| s.error.clone()).collect();
            let changes: Vec<plan::Change> = r.steps.iter().map(|s| s.change.clone()).collect();
            let summary: Vec<String> = changes
                .iter()
                .map(|c| format!("{} {}: {}", c.action.describe().1, c.target, c.reason))
                .collect();
            let details = json!({"host": r.host, "steps": r.steps});
            if errors.is_empty() {
                self.failed.remove(&r.stack);
                let reason = format!("stack {}: {}", r.stack, summary.join("; "));
                self.event(AuditKind::StackApplied, &app.commit, reason, details)
                    .await;
            } else {
                let reason = format!("stack {}: {}", r.stack, errors.join("; "));
                self.failed.insert(
                    r.stack.clone(),
                    format!("apply failed: {}", errors.join("; ")),
                );
                self.event(AuditKind::ApplyFailed, &app.commit, reason, details)
                    .await;
            }
            self.last.insert(
                r.stack.clone(),
                view::last_plan(&app.commit, &changes, errors),
            );
        }
        let (obs, plan) = if results.is_empty() {
            (obs, plan)
        } else {
            let obs =
                pass::observe_all(&app.desired, &app.dir, &mut self.engines, &self.hosts_seen)
                    .await;
            let plan = self.plan(&obs, &app);
            (obs, plan)
        };
        self.remember(&obs).await;
        let mut overrides = self.brake.held().clone();
        overrides.extend(self.failed.clone());
        self.next_wake = plan::next_wake(&obs.targets, Utc::now());
        let v = view::view(&plan, &obs.targets, &obs.hosts, &overrides, &self.last);
        self.view.send_replace(v);
    }

    fn plan(&self, obs: &Observation, app: &Applied) -> Plan {
        let cx = Context {
            commit: &app.commit,
            prune: app.desired.settings.prune,
            now: Utc::now(),
            holds: &self.holds,
            deployed: &self.deployed,
        };
        plan::plan(&obs.targets, &obs.hosts, &cx)
    }

    /// Records which services exist and which hosts hold managed containers.
    async fn remember(&mut self, obs: &Observation) {
        // Services deployed before stay known while they are desired, so a
        // container removed by hand is drift, not a new service.
        let mut deployed: BTreeSet<(String, String)> = self
            .deployed
            .iter()
            .filter(|(st, sv)| {
                obs.targets
                    .iter()
                    .any(|t| &t.name == st && t.services.contains_key(sv))
            })
            .cloned()
            .collect();
        let mut hosts = BTreeSet::new();
        for (name, h) in obs
            .hosts
            .iter()
            .filter_map(|(n, h)| Some((n, h.as_ref().ok()?)))
        {
            if !h.containers.is_empty() {
                hosts.insert(name.clone());
            }
            for c in &h.containers {
                if obs
                    .targets
                    .iter()
                    .any(|t| t.name == c.project && t.services.contains_key(&c.service))
                {
                    deployed.insert((c.project.clone(), c.service.clone()));
                }
            }
        }
        hosts.extend(
            self.unreachable
                .iter()
                .filter(|h| self.hosts_seen.contains(*h))
                .cloned(),
        );
        if deployed == self.deployed && hosts == self.hosts_seen {
            return;
        }
        self.deployed = deployed;
        self.hosts_seen = hosts;
        let meta = vec![
            ("stacks_deployed", json!(self.deployed)),
            ("stack_hosts", json!(self.hosts_seen)),
        ];
        self.save(meta).await;
    }

    async fn save(&self, meta: Vec<(&'static str, serde_json::Value)>) {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.set_meta(&meta)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(cause = %e, "cannot store stack state"),
            Err(e) => tracing::error!(cause = %e, "cannot store stack state"),
        }
    }

    async fn hosts_changed(&mut self, obs: &Observation, commit: &str) {
        for (name, seen) in &obs.hosts {
            match seen {
                Err(e) if self.unreachable.insert(name.clone()) => {
                    tracing::warn!(host = %name, cause = %e, "docker host unreachable");
                    let reason = format!("docker host {name}: {e}");
                    self.event(AuditKind::HostUnreachable, commit, reason, json!(null))
                        .await;
                }
                Ok(_) if self.unreachable.remove(name) => {
                    let reason = format!("docker host {name} answers again");
                    self.event(AuditKind::HostRecovered, commit, reason, json!(null))
                        .await;
                }
                _ => {}
            }
        }
    }

    /// Starts following the events of each host that answered, once.
    fn follow_events(&mut self, obs: &Observation) {
        for (name, engine) in &obs.engines {
            if !self.followed.insert(name.clone()) {
                continue;
            }
            let (engine, queue) = (engine.clone(), self.queue.clone());
            tokio::spawn(async move {
                let mut backoff = Duration::from_secs(1);
                loop {
                    let mut stream = Box::pin(events::drift_events(&engine));
                    while let Some(item) = stream.next().await {
                        match item {
                            Ok(_) => {
                                // The engine reports `die` a moment before the
                                // container lists as exited: let it settle.
                                backoff = Duration::from_secs(1);
                                tokio::time::sleep(EVENT_SETTLE).await;
                                queue.request(Reason::DockerEvent);
                            }
                            Err(e) => {
                                tracing::debug!(host = %engine.name, cause = %e, "events stream ended");
                                break;
                            }
                        }
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    queue.request(Reason::DockerEvent);
                }
            });
        }
    }

    async fn event(
        &self,
        kind: AuditKind,
        commit: &str,
        reason: String,
        details: serde_json::Value,
    ) {
        record(&self.store, kind, Some(commit), reason, details, vec![]).await;
    }

    /// Runs a stack job's action, updates holds, and reconciles.
    async fn action(&mut self, req: StackRequest) {
        tracing::debug!(job = %req.job, stack = %req.stack, action = ?req.action, "stack job");
        let answer = self.act(&req).await;
        tracing::debug!(job = %req.job, ok = answer.is_ok(), "stack job done");
        let _ = req.reply.send(answer);
    }

    async fn act(&mut self, req: &StackRequest) -> Result<Vec<String>, String> {
        let app = self
            .applied
            .borrow()
            .clone()
            .ok_or("no commit is in force")?;
        let stack = app
            .desired
            .stacks
            .iter()
            .find(|s| s.name == req.stack)
            .ok_or_else(|| format!("stack {} is not in the commit in force", req.stack))?;
        let host = app
            .desired
            .hosts
            .get(&stack.host)
            .ok_or_else(|| format!("host {} is not declared", stack.host))?;
        let engine = self.engines.get(&stack.host, host).await?;
        let services: Vec<String> = if req.services.is_empty() {
            stack.services.keys().cloned().collect()
        } else {
            req.services.clone()
        };
        let images: Vec<String> = services
            .iter()
            .filter_map(|s| stack.services.get(s))
            .map(|s| s.image.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let seen = crate::docker::observe::observe(&engine, &images.iter().cloned().collect())
            .await
            .map_err(|e| e.to_string())?;
        let mut log = actions::run(
            &engine,
            &seen,
            &req.stack,
            &req.services,
            req.action,
            &images,
        )
        .await
        .map_err(|e| e.to_string())?;
        let holds = self.holds.entry(req.stack.clone()).or_default();
        for s in &services {
            match req.action {
                StackAction::Stop => {
                    holds.insert(
                        s.clone(),
                        Hold {
                            paused: false,
                            by: req.job.clone(),
                        },
                    );
                }
                StackAction::Pause => {
                    holds.insert(
                        s.clone(),
                        Hold {
                            paused: true,
                            by: req.job.clone(),
                        },
                    );
                }
                StackAction::Start | StackAction::Restart | StackAction::Unpause => {
                    holds.remove(s);
                }
                StackAction::Update => {}
            }
        }
        self.holds.retain(|_, h| !h.is_empty());
        self.save(vec![("stack_holds", json!(self.holds))]).await;
        let before = self.last.get(&req.stack).map(|l| l.at);
        self.pass(&BTreeSet::from([Reason::StackJob])).await;
        if let Some(l) = self.last.get(&req.stack).filter(|l| Some(l.at) != before) {
            for c in &l.changes {
                log.push(format!(
                    "reconcile: {} {}: {}",
                    c["action"].as_str().unwrap_or(""),
                    c["target"].as_str().unwrap_or(""),
                    c["reason"].as_str().unwrap_or("")
                ));
            }
            if !l.errors.is_empty() {
                return Err(format!("{}\n{}", log.join("\n"), l.errors.join("; ")));
            }
        }
        Ok(log)
    }
}

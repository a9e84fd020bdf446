//! A fake Docker world for the controller's unit tests: hosts keep their
//! containers and networks in memory, an applied stack becomes exactly what
//! its target renders (stopped where the plan stops it), and every call is
//! recorded with tokio's clock, so tests can drive drift, outages and
//! timing without an engine.

use super::StacksError;
use super::hosts::{Act, Hosts, Look, Owned, Work, failed};
use crate::docker::apply::Step;
use crate::model::{Action, HostState, NetworkSeen, Observed, RunState, StackAction, Unobserved};
use crate::plan::{Change, Target};
use crate::reconcile::queue::Queue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// What the fake hosts hold and what was asked of them.
#[derive(Default)]
pub struct World {
    /// Host name → its state (absent: empty).
    pub hosts: BTreeMap<String, HostState>,
    /// Hosts that do not answer.
    pub down: BTreeSet<String>,
    /// Each observation: when and which host.
    pub observed: Vec<(Instant, String)>,
    /// Each apply: the stack and its actions.
    pub applied: Vec<(String, Vec<Action>)>,
    /// Each stack job's action: stack and action.
    pub acts: Vec<(String, StackAction)>,
    /// The queue each followed host's events go to.
    pub followed: BTreeMap<String, Arc<Queue>>,
    /// When set, each apply waits for a permit of it (a slow engine).
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
}

/// Fake hosts over a shared [`World`].
#[derive(Clone, Default)]
pub struct Fake(pub Arc<Mutex<World>>);

impl Fake {
    /// The world, locked.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.0.lock().unwrap()
    }
}

/// `state` after `work`: the stack's containers and networks as its target
/// renders them (none for a leftover), stopped where the plan stops them.
fn carry_out(state: &mut HostState, work: &Work) {
    let stack = &work.plan.stack;
    state.containers.retain(|c| &c.project != stack);
    state.networks.retain(|n| &n.project != stack);
    let Some(t) = &work.target else {
        return;
    };
    for (name, s) in &t.services {
        let mut c = s.as_running(&t.name, name);
        let stops = [Action::Stop, Action::CreateStopped, Action::RecreateStopped];
        let stopped =
            work.plan.changes.iter().any(|ch| {
                stops.contains(&ch.action) && (ch.target == *name || ch.target == c.name)
            });
        if stopped {
            c.state = RunState::Exited;
            // SIGTERM's code, as `docker stop` leaves most processes.
            c.exit_code = Some(143);
        }
        state.containers.push(c);
    }
    state.networks.push(NetworkSeen {
        id: format!("{}-net", t.name),
        name: format!("{}_default", t.name),
        project: t.name.clone(),
        managed: true,
    });
}

impl Hosts for Fake {
    async fn observe(&mut self, looks: Vec<Look>) -> Vec<(String, Observed)> {
        let mut w = self.world();
        let mut out = Vec::new();
        for look in looks {
            w.observed.push((Instant::now(), look.name.clone()));
            if w.down.contains(&look.name) {
                let cause = "connection refused".to_owned();
                let docker = look.host.docker.clone();
                out.push((look.name, Err(Unobserved::Unreachable { docker, cause })));
                continue;
            }
            let mut seen = w.hosts.get(&look.name).cloned().unwrap_or_default();
            for image in look.images {
                seen.images.insert(image.clone(), format!("sha256:{image}"));
            }
            out.push((look.name, Ok(seen)));
        }
        out
    }

    fn apply(&self, host: &str, work: Work) -> Owned<Vec<Step>> {
        let mut w = self.world();
        let actions = work.plan.changes.iter().map(|c| c.action).collect();
        w.applied.push((work.plan.stack.clone(), actions));
        carry_out(w.hosts.entry(host.to_owned()).or_default(), &work);
        let steps = work.plan.changes.into_iter().map(|change| Step {
            change,
            error: None,
            output: Vec::new(),
        });
        let steps: Vec<Step> = steps.collect();
        let gate = w.gate.clone();
        Box::pin(async move {
            if let Some(gate) = gate {
                gate.acquire().await.expect("the gate stays open").forget();
            }
            steps
        })
    }

    fn place_remote(
        &self,
        _host: &str,
        _target: Target,
        _work: super::work::StackWork,
        files: Vec<Change>,
    ) -> Owned<Vec<Step>> {
        let steps = failed(files, "the fake hosts are all local");
        Box::pin(async move { steps })
    }

    fn follow(&mut self, host: &str, queue: Arc<Queue>) {
        self.world().followed.insert(host.to_owned(), queue);
    }

    async fn act(
        &mut self,
        host: &str,
        _spec: &crate::model::Host,
        act: Act,
    ) -> Result<Vec<String>, StacksError> {
        let mut w = self.world();
        w.acts.push((act.stack.clone(), act.action));
        let state = w.hosts.entry(host.to_owned()).or_default();
        let (stack, services) = (&act.stack, &act.services);
        for c in state.containers.iter_mut().filter(|c| &c.project == stack) {
            if !services.is_empty() && !services.contains(&c.service) {
                continue;
            }
            match act.action {
                StackAction::Stop => c.state = RunState::Exited,
                StackAction::Pause => c.state = RunState::Paused,
                StackAction::Start | StackAction::Restart | StackAction::Unpause => {
                    c.state = RunState::Running
                }
                StackAction::Update => {}
            }
        }
        Ok(vec![format!("{:?} {stack}", act.action)])
    }

    async fn remove_volumes(
        &self,
        _host: &str,
        _project: &str,
    ) -> Result<Vec<String>, StacksError> {
        Ok(Vec::new())
    }

    async fn mounts(
        &self,
        _host: &str,
        _id: &str,
    ) -> Result<(bool, Vec<(String, String)>), StacksError> {
        Ok((true, Vec::new()))
    }

    async fn stop(&self, _host: &str, _id: &str) -> Result<(), StacksError> {
        Ok(())
    }
}

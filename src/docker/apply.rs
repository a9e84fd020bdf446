//! Executing one stack's plan: networks and volumes first, removals next,
//! then services level by level along `depends_on` (a level's services in
//! parallel), waiting for `service_healthy` / `service_completed_successfully`
//! dependencies before starting what needs them.
//!
//! Every change ends as a [`Step`]: done, or failed with the engine's
//! answer. A failed step never stops the others of its stack — a service
//! whose change failed keeps its old container where it can (the image is
//! pulled or built before the old container is touched), and the next pass
//! plans it again. Nothing here removes a volume or a bind's data: removing
//! a container leaves its named volumes and its working directory alone.

use super::create::{NewContainer, create_container};
use super::ops;
use super::{DockerError, Engine};
use crate::model::DependCondition;
use crate::model::{Action, Change, HostState, StackPlan, Target};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for a dependency to become healthy (or complete), however
/// long its health check's own figures would allow.
const MAX_DEPENDENCY_WAIT: Duration = Duration::from_secs(300);

/// What happened to one change: the change as planned, its error if any,
/// and what it printed. The apply log, the stack's last plan and the
/// `tend apply` output are all made of these.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The change.
    pub change: Change,
    /// The error, if it failed or was skipped.
    pub error: Option<String>,
    /// What the step printed (a build's output), for the apply log.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
}

/// Applies `plan` for one stack; `target` is `None` for a leftover stack.
/// Networks and volumes are created first (a service may join or mount
/// them), leftovers removed next (their names may be taken again), then
/// the services along `depends_on`, and the networks no longer wanted last
/// (once no container of the stack is attached to them). One step per
/// change, in that order.
pub async fn apply_stack(
    e: &Engine,
    plan: &StackPlan,
    target: Option<&Target>,
    host: &HostState,
    commit: &str,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut networks = known_networks(plan, target, host);
    let (early, services): (Vec<&Change>, Vec<&Change>) = plan.changes.iter().partition(|c| {
        matches!(
            c.action,
            Action::CreateNetwork | Action::CreateVolume | Action::Remove
        )
    });
    for c in early {
        let r = match c.action {
            Action::CreateNetwork => {
                let r = target.map_or(&crate::model::UNDECLARED, |t| t.network(&c.target));
                ops::create_network(e, &plan.stack, &c.target, r)
                    .await
                    .map(|id| {
                        networks.insert(c.target.clone(), id);
                    })
            }
            Action::CreateVolume => {
                let r = target.map_or(&crate::model::UNDECLARED, |t| t.volume(&c.target));
                ops::create_volume(e, &plan.stack, &c.target, r).await
            }
            _ => {
                let id = c.id.as_deref().unwrap_or_default();
                let spec = target.and_then(|t| t.services.get(&c.target));
                let output = match spec {
                    Some(s) => before_stop(e, id, &s.spec.pre_stop).await,
                    None => Vec::new(),
                };
                steps.push(step(c, ops::remove(e, id).await.map(|()| output)));
                continue;
            }
        };
        steps.push(step(c, r.map(|()| Vec::new())));
    }
    let networks = Arc::new(networks);
    let stack = Stack {
        engine: e,
        plan,
        target,
        host,
        commit,
    };
    steps.extend(by_level(&stack, &services, networks).await);
    for c in plan
        .changes
        .iter()
        .filter(|c| c.action == Action::RemoveNetwork)
    {
        let r = ops::remove_network(e, c.id.as_deref().unwrap_or_default()).await;
        steps.push(step(c, r.map(|()| Vec::new())));
    }
    steps
}

/// The network id (or external name) of each network key the stack's
/// services may join, as far as the host has them already. Networks this
/// apply creates are added as they are made.
fn known_networks(
    plan: &StackPlan,
    target: Option<&Target>,
    host: &HostState,
) -> HashMap<String, String> {
    let mut networks = HashMap::new();
    let Some(t) = target else {
        return networks;
    };
    let default = "default".to_owned();
    let keys = t
        .networks
        .iter()
        .chain([(&default, &crate::model::UNDECLARED)]);
    for (key, r) in keys {
        let full = r.full_name(&plan.stack, key);
        if r.external {
            networks.insert(key.clone(), full);
        } else if let Some(n) = host.networks.iter().find(|n| n.name == full) {
            networks.insert(key.clone(), n.id.clone());
        }
    }
    networks
}

/// One stack's apply: the engine, its plan, target, host and commit, lent
/// to each level's tasks (which clone what they keep).
struct Stack<'a> {
    /// The stack's engine.
    engine: &'a Engine,
    /// What to do.
    plan: &'a StackPlan,
    /// The stack as rendered (`None` for a leftover stack).
    target: Option<&'a Target>,
    /// The host as observed before the plan.
    host: &'a HostState,
    /// The commit in force, recorded on each container created.
    commit: &'a str,
}

/// Carries out the service changes level by level along `depends_on`,
/// the services of one level in parallel. A level starts when the one
/// before it has ended, failed steps included: a dependency that failed
/// makes its dependants wait for its condition and fail with the reason,
/// rather than start against a service that is not there.
async fn by_level(
    s: &Stack<'_>,
    services: &[&Change],
    networks: Arc<HashMap<String, String>>,
) -> Vec<Step> {
    let (e, target, host, commit) = (s.engine, s.target, s.host, s.commit);
    let mut steps = Vec::new();
    let max_level = services.iter().map(|c| c.level).max().unwrap_or(0);
    for level in 0..=max_level {
        let mut set = tokio::task::JoinSet::new();
        for c in services
            .iter()
            .filter(|c| c.level == level && c.action != Action::RemoveNetwork)
        {
            let (e, c, nets) = (e.clone(), (*c).clone(), networks.clone());
            let (t, host, commit) = (target.cloned(), host.clone(), commit.to_owned());
            let stack = s.plan.stack.clone();
            set.spawn(async move {
                let r = service(&e, &stack, &c, t.as_ref(), &host, &nets, &commit).await;
                step(&c, r)
            });
        }
        while let Some(done) = set.join_next().await {
            match done {
                Ok(s) => steps.push(s),
                Err(err) => tracing::error!(cause = %err, "an apply task failed"),
            }
        }
    }
    steps
}

/// The step of change `c` from its result (an error kept as text, as the
/// apply log and the stack's last plan show it).
fn step(c: &Change, r: Result<Vec<String>, DockerError>) -> Step {
    let (output, error) = match r {
        Ok(output) => (output, None),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    Step {
        change: c.clone(),
        error,
        output,
    }
}

/// Carries out one service change: build or pull what it needs, stop and
/// remove the old container, create and start the new one, run its hooks.
/// The image comes first, so a failed pull or build leaves the running
/// container as it was; the `pre_stop` hooks run before any stop or
/// replacement, the `post_start` hooks after any start. Returns what the
/// build and the hooks printed.
async fn service(
    e: &Engine,
    stack: &str,
    c: &Change,
    target: Option<&Target>,
    host: &HostState,
    networks: &HashMap<String, String>,
    commit: &str,
) -> Result<Vec<String>, DockerError> {
    let id = c.id.as_deref().unwrap_or_default();
    let spec = target.and_then(|t| t.services.get(&c.target));
    if c.action.starts()
        && let (Some(t), Some(s)) = (target, spec)
    {
        wait_dependencies(e, t, &s.spec.depends_on, host).await?;
    }
    let pre_stop = spec.map_or(&[][..], |s| &s.spec.pre_stop[..]);
    let post_start = spec.map_or(&[][..], |s| &s.spec.post_start[..]);
    let done = match c.action {
        Action::Start => {
            ops::start(e, id).await?;
            return super::hooks::run(e, id, "post_start", post_start).await;
        }
        Action::Stop => {
            let output = before_stop(e, id, pre_stop).await;
            ops::stop(e, id).await?;
            return Ok(output);
        }
        Action::Pause => Ok(e.mutating().pause_container(id).await?),
        Action::Unpause => Ok(e.mutating().unpause_container(id).await?),
        Action::Rename => {
            let name = match target.and_then(|t| t.services.get(&c.target)) {
                Some(s) => s.container_n(stack, &c.target, c.replica),
                None => crate::model::container_name(stack, &c.target),
            };
            ops::rename(e, id, &name).await
        }
        Action::Create | Action::CreateStopped | Action::Recreate | Action::RecreateStopped => {
            let s =
                spec.ok_or_else(|| DockerError::Api(format!("service {} has no spec", c.target)))?;
            // Make sure the image is there (built or pulled) before
            // touching the old container.
            let mut output = Vec::new();
            match (&s.spec.build, &s.build) {
                (Some(b), Some(t)) => {
                    output = super::build::ensure_built(e, &s.spec.image, b, t).await?
                }
                _ => ops::ensure_image(e, &s.spec.image).await?,
            }
            if matches!(c.action, Action::Recreate | Action::RecreateStopped) {
                output.extend(before_stop(e, id, pre_stop).await);
                ops::remove(e, id).await?;
            }
            let new = NewContainer {
                project: stack,
                service: &c.target,
                number: c.replica,
                target: s,
                networks,
                commit,
                volumes: target.map(|t| &t.volumes),
                declared_networks: target.map(|t| &t.networks),
                project_dir: target.and_then(|t| {
                    let dir = t.workdir.as_deref()?;
                    Some((dir, t.compose_file.as_str()))
                }),
            };
            let new_id = create_container(e, &new).await?;
            super::files::copy_in(e, &new_id, &s.copy_in).await?;
            super::files::write_in(e, &new_id, &s.spec.inject).await?;
            if c.action.starts() {
                ops::start(e, &new_id).await?;
                output.extend(super::hooks::run(e, &new_id, "post_start", post_start).await?);
            }
            return Ok(output);
        }
        _ => Ok(()),
    };
    done.map(|()| Vec::new())
}

/// `pre_stop` hooks before a running container is stopped or replaced: a
/// failure is logged in the output and does not keep the container up.
/// A container that is not running gets no hooks (there is nothing to exec
/// into).
async fn before_stop(e: &Engine, id: &str, hooks: &[crate::model::Hook]) -> Vec<String> {
    let running = matches!(
        ops::status(e, id).await,
        Ok((crate::model::RunState::Running, ..))
    );
    if hooks.is_empty() || !running {
        return Vec::new();
    }
    match super::hooks::run(e, id, "pre_stop", hooks).await {
        Ok(output) => output,
        Err(err) => vec![format!("{err} (stopping anyway)")],
    }
}

/// Waits for each dependency's condition, by the container now running it.
/// `service_started` needs no wait (the level order gives it). The limit
/// follows the dependency's health check — its start period and every try
/// with its interval and timeout, plus a margin — capped at
/// [`MAX_DEPENDENCY_WAIT`]; one minute without a health check.
async fn wait_dependencies(
    e: &Engine,
    t: &Target,
    deps: &BTreeMap<String, DependCondition>,
    _host: &HostState,
) -> Result<(), DockerError> {
    for (dep, condition) in deps {
        if *condition == DependCondition::ServiceStarted {
            continue;
        }
        let name = t.container_of(dep);
        let limit = t
            .services
            .get(dep)
            .and_then(|s| s.spec.healthcheck.as_ref())
            .map_or(Duration::from_secs(60), |h| {
                let interval = h.interval.unwrap_or(Duration::from_secs(30));
                let timeout = h.timeout.unwrap_or(Duration::from_secs(30));
                let tries = h.retries.unwrap_or(3) + 1;
                h.start_period.unwrap_or_default()
                    + (interval + timeout) * tries
                    + Duration::from_secs(5)
            })
            .min(MAX_DEPENDENCY_WAIT);
        ops::wait_for(e, &name, *condition, limit)
            .await
            .map_err(|seen| {
                let want = match condition {
                    DependCondition::ServiceHealthy => "healthy",
                    _ => "completed successfully",
                };
                DockerError::Api(format!(
                    "dependency {dep} did not become {want} within {}s ({seen})",
                    limit.as_secs()
                ))
            })?;
    }
    Ok(())
}

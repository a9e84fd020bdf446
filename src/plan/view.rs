//! The stacks as the status page and `GET /api/v1/stacks` show them: each
//! stack's desired state, sync verdict, services with their containers, and
//! the last plan applied to it.

use super::{Change, HostState, Plan, Sync, Target, container_name};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackStatus {
    /// Stack name.
    pub name: String,
    /// Host name.
    pub host: String,
    /// `running`, `stopped`, `sleeping`, `absent` (or `unmanaged` for leftovers).
    pub desired_state: String,
    /// `synced`, `out-of-sync`, `degraded` or `unknown`.
    pub sync: Sync,
    /// Why it is `unknown` or `degraded`.
    pub error: Option<String>,
    /// Services and their containers.
    pub services: Vec<ServiceStatus>,
    /// The last plan applied to this stack.
    pub last_plan: Option<LastPlan>,
    /// The commit this status was planned from: the commit in force at the
    /// stack's last pass (a newer commit is not reflected until its pass).
    pub commit: String,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceStatus {
    /// Service name.
    pub name: String,
    /// Container name, when it exists.
    pub container: Option<String>,
    /// `running`, `exited`, … or `missing`.
    pub state: String,
    /// `healthy`, `unhealthy`, `starting` or `none`.
    pub health: super::Health,
    /// The image it runs (or should run).
    pub image: String,
}

/// A plan applied to a stack, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct LastPlan {
    /// When it was applied.
    pub at: DateTime<Utc>,
    /// The commit in force.
    pub commit: String,
    /// The changes, each with its reason.
    pub changes: Vec<Change>,
    /// Errors of changes that failed.
    pub errors: Vec<String>,
}

/// Builds the view from a plan and what it was planned from; `overrides`
/// mark stacks degraded (self-heal gave up, apply failed) with the reason.
pub fn view(
    plan: &Plan,
    targets: &[Target],
    hosts: &BTreeMap<String, crate::model::Observed>,
    overrides: &BTreeMap<String, String>,
    last: &BTreeMap<String, LastPlan>,
    commit: &str,
) -> Vec<StackStatus> {
    plan.stacks
        .iter()
        .map(|sp| {
            let host = hosts.get(&sp.host).and_then(|h| h.as_ref().ok());
            let target = targets.iter().find(|t| t.name == sp.stack && !sp.leftover);
            let mut names: Vec<String> = target
                .map(|t| t.services.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(h) = host {
                for c in h.containers.iter().filter(|c| c.project == sp.stack) {
                    if !names.contains(&c.service) {
                        names.push(c.service.clone());
                    }
                }
            }
            let services = names
                .iter()
                .map(|name| service(&sp.stack, name, target, host))
                .collect();
            let (mut sync, mut error) = (sp.sync(), sp.error.clone());
            if sync == Sync::Degraded {
                error = Some(format!("failing: {}", sp.failing.join(", ")));
            }
            if let Some(why) = overrides.get(&sp.stack)
                && sync != Sync::Unknown
            {
                sync = Sync::Degraded;
                error = Some(why.clone());
            }
            StackStatus {
                name: sp.stack.clone(),
                host: sp.host.clone(),
                desired_state: sp.desired_state.clone(),
                sync,
                error,
                services,
                last_plan: last.get(&sp.stack).cloned(),
                commit: commit.to_owned(),
            }
        })
        .collect()
}

fn service(stack: &str, name: &str, t: Option<&Target>, host: Option<&HostState>) -> ServiceStatus {
    let found = host.and_then(|h| {
        h.containers
            .iter()
            .filter(|c| c.project == stack && c.service == name)
            .min_by_key(|c| {
                let want = t.map_or_else(|| container_name(stack, name), |t| t.container_of(name));
                c.name != want
            })
    });
    let image = t
        .and_then(|t| t.services.get(name))
        .map(|s| s.spec.image.clone())
        .or_else(|| found.map(|c| c.image.clone()))
        .unwrap_or_default();
    ServiceStatus {
        name: name.to_owned(),
        container: found.map(|c| c.name.clone()),
        state: found.map_or("missing".to_owned(), |c| crate::model::word(&c.state)),
        health: found.map(|c| c.health).unwrap_or_default(),
        image,
    }
}

/// A [`LastPlan`] from applied changes.
pub fn last_plan(commit: &str, changes: &[Change], errors: Vec<String>) -> LastPlan {
    LastPlan {
        at: Utc::now(),
        commit: commit.to_owned(),
        changes: changes.to_vec(),
        errors,
    }
}

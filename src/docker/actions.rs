//! Container actions of stack jobs (`start`, `stop`, `restart`, `pause`,
//! `unpause`, and the pull half of `update`), on the observed containers of
//! one stack. Each returns the lines it logs.
//!
//! These act on what exists and nothing else: a stack without containers
//! is reported, not created (creating is the plan's job, in the pass that
//! follows the action). A container already in the asked state is logged
//! `already so`. `stop` and `pause` are remembered by the stacks controller
//! as holds, so its passes leave them so.
//!
//! An `update` job pulls each image of its services and logs whether the
//! pull brought a new image id; the pass that follows recreates exactly
//! the services whose image changed.

use super::{DockerError, Engine, ops};
use crate::model::StackAction;
use crate::model::{ContainerSeen, HostState, RunState};

/// Runs `action` on the containers of `stack` (only `services` if not
/// empty). `update` only pulls here; recreating is the planner's job.
/// A restart unpauses a paused container first (the engine refuses to
/// restart one that is paused). Containers are acted on in the observed
/// order; the first engine error
/// ends the action with that error. `update` logs, per image, whether the
/// pull brought a new image id.
pub async fn run(
    e: &Engine,
    host: &HostState,
    stack: &str,
    services: &[String],
    action: StackAction,
    images: &[String],
) -> Result<Vec<String>, DockerError> {
    let mut log = Vec::new();
    let chosen: Vec<&ContainerSeen> = host
        .containers
        .iter()
        .filter(|c| c.project == stack && (services.is_empty() || services.contains(&c.service)))
        .collect();
    if chosen.is_empty() && action != StackAction::Update {
        log.push(format!("stack {stack} has no containers on {}", e.name));
    }
    for c in chosen {
        let did = match action {
            StackAction::Start if c.state == RunState::Paused => {
                e.mutating().unpause_container(&c.id).await?;
                "unpaused"
            }
            StackAction::Start if !c.state.is_up() => {
                ops::start(e, &c.id).await?;
                "started"
            }
            StackAction::Stop if c.state.is_up() => {
                ops::stop(e, &c.id).await?;
                "stopped"
            }
            StackAction::Restart => {
                if c.state == RunState::Paused {
                    e.mutating().unpause_container(&c.id).await?;
                }
                e.mutating().restart_container(&c.id, None).await?;
                "restarted"
            }
            StackAction::Pause if c.state == RunState::Running => {
                e.mutating().pause_container(&c.id).await?;
                "paused"
            }
            StackAction::Unpause if c.state == RunState::Paused => {
                e.mutating().unpause_container(&c.id).await?;
                "unpaused"
            }
            StackAction::Update => continue,
            _ => "already so",
        };
        log.push(format!("{}: {did}", c.name));
    }
    if action == StackAction::Update {
        for image in images {
            let before = host.images.get(image).cloned();
            ops::pull(e, image).await?;
            let after = e.api().inspect_image(image).await?.id.unwrap_or_default();
            let what = if before.as_deref() == Some(after.as_str()) {
                "unchanged"
            } else {
                "new image"
            };
            log.push(format!("pulled {image}: {what} ({after})"));
        }
    }
    Ok(log)
}

//! Single engine operations with tend's labels and conventions: names
//! `<project>-<service>-1`, `<project>_<network>`, `<project>_<volume>`.
//!
//! Each operation is idempotent where the engine allows it: starting a
//! running container, stopping a stopped one and removing one that is gone
//! all succeed, so a pass interrupted half-way can simply be run again.
//! Every mutating call goes through [`Engine::mutating`] and is counted.
//! Nothing here removes a volume unless asked by name for a project whose
//! `remove_data` is set.

use super::{DockerError, Engine, not_found};
use crate::model::condition_met;
use crate::model::labels;
use crate::model::{DependCondition, Resource};
use crate::model::{Health, RunState};
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest, VolumeCreateRequest};
use bollard::query_parameters::{
    CreateImageOptions, RemoveContainerOptions, RenameContainerOptions, StopContainerOptions,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The labels everything tend creates carries: the project and `managed`
/// (what observation filters on; anything without them is never touched).
pub(super) fn base_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (labels::PROJECT.to_owned(), project.to_owned()),
        (labels::MANAGED.to_owned(), "true".to_owned()),
    ])
}

/// Creates `<project>_<key>` (or the name it declares) with its driver,
/// options, labels and address management; returns its id. It carries
/// compose's project and network labels beside tend's, so `docker compose`
/// and tend both recognise it as the stack's.
pub async fn create_network(
    e: &Engine,
    project: &str,
    key: &str,
    r: &Resource,
) -> Result<String, DockerError> {
    let mut labels: HashMap<String, String> = r.labels.clone().into_iter().collect();
    labels.extend(base_labels(project));
    labels.insert(labels::NETWORK.into(), key.into());
    let ipam = (r.ipam_driver.is_some() || !r.subnets.is_empty()).then(|| Ipam {
        driver: r.ipam_driver.clone(),
        config: Some(
            r.subnets
                .iter()
                .map(|(subnet, gateway, range)| IpamConfig {
                    subnet: subnet.clone(),
                    gateway: gateway.clone(),
                    ip_range: range.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        options: None,
    });
    let created = e
        .mutating()
        .create_network(NetworkCreateRequest {
            name: r.full_name(project, key),
            driver: r.driver.clone(),
            labels: Some(labels),
            internal: r.internal.then_some(true),
            attachable: r.attachable.then_some(true),
            enable_ipv6: r.enable_ipv6.then_some(true),
            options: (!r.driver_opts.is_empty())
                .then(|| r.driver_opts.clone().into_iter().collect()),
            ipam,
            ..Default::default()
        })
        .await?;
    Ok(created.id)
}

/// Creates the named volume `<project>_<key>` (or the name it declares)
/// with its driver, options and labels. A volume of that name that exists
/// already is kept as it is (the engine answers with it), so its data is
/// never replaced.
pub async fn create_volume(
    e: &Engine,
    project: &str,
    key: &str,
    r: &Resource,
) -> Result<(), DockerError> {
    let mut labels: HashMap<String, String> = r.labels.clone().into_iter().collect();
    labels.extend(base_labels(project));
    labels.insert(labels::VOLUME.into(), key.into());
    e.mutating()
        .create_volume(VolumeCreateRequest {
            name: Some(r.full_name(project, key)),
            driver: r.driver.clone(),
            driver_opts: (!r.driver_opts.is_empty())
                .then(|| r.driver_opts.clone().into_iter().collect()),
            labels: Some(labels),
            ..Default::default()
        })
        .await?;
    Ok(())
}

/// Removes a network, retrying while the engine still counts endpoints
/// (a container removed a moment ago can still be attached); gone already
/// is fine.
pub async fn remove_network(e: &Engine, id: &str) -> Result<(), DockerError> {
    let mut last = None;
    for attempt in 0..20u64 {
        match e.mutating().remove_network(id).await {
            Ok(()) => return Ok(()),
            Err(err) if not_found(&err) => return Ok(()),
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(100 * (attempt + 1).min(5))).await;
    }
    Err(last.map_or(DockerError::Timeout("removing a network"), Into::into))
}

/// Pulls `image` (the engine's registry access; no credentials), waiting
/// for the whole stream; the registry's error ends it as an error.
pub async fn pull(e: &Engine, image: &str) -> Result<(), DockerError> {
    let (name, tag) = split_tag(image);
    let mut stream = e.long().create_image(
        Some(CreateImageOptions {
            from_image: Some(name.to_owned()),
            tag: Some(tag.to_owned()),
            ..Default::default()
        }),
        None,
        None,
    );
    e.mutations
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    while let Some(item) = stream.next().await {
        let info = item?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(DockerError::Api(format!("pulling {image}: {err}")));
        }
    }
    Ok(())
}

/// Pulls `image` unless the engine has it (an image present is never
/// pulled again here: updates are asked for, not implied).
pub async fn ensure_image(e: &Engine, image: &str) -> Result<(), DockerError> {
    match e.api().inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(err) if not_found(&err) => pull(e, image).await,
        Err(err) => Err(err.into()),
    }
}

/// An image reference split into name and tag for the pull call (a
/// digest stays whole; no tag is `latest`). The tag is what follows the
/// last `:` only when no `/` comes after it, so a registry's port
/// (`registry:5000/app`) is never taken for a tag.
fn split_tag(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// Starts a container (already running is fine: the engine's 304 is
/// success).
pub async fn start(e: &Engine, id: &str) -> Result<(), DockerError> {
    match e.mutating().start_container(id, None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        })
        | Ok(()) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Stops a container with its own grace period (already stopped is fine,
/// and so is gone): the engine sends its stop signal, then kills it when
/// the grace period ends.
pub async fn stop(e: &Engine, id: &str) -> Result<(), DockerError> {
    match e
        .mutating()
        .stop_container(id, None::<StopContainerOptions>)
        .await
    {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        })
        | Ok(()) => Ok(()),
        Err(err) if not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Stops and removes a container (gone already is fine). Stopping first
/// lets it end within its grace period, as `docker compose down` does;
/// its anonymous volumes stay with the engine, named ones are untouched.
pub async fn remove(e: &Engine, id: &str) -> Result<(), DockerError> {
    stop(e, id).await?;
    let opts = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    match e.mutating().remove_container(id, Some(opts)).await {
        Err(err) if not_found(&err) => Ok(()),
        other => Ok(other?),
    }
}

/// Renames a container (to the name its service gives it, when it was
/// renamed outside tend). A name taken by another container fails with the
/// engine's answer; nothing is removed to make room.
pub async fn rename(e: &Engine, id: &str, name: &str) -> Result<(), DockerError> {
    let opts = RenameContainerOptions {
        name: name.to_owned(),
    };
    Ok(e.mutating().rename_container(id, opts).await?)
}

/// Run state, health and exit code of a container, from one inspect.
pub async fn status(e: &Engine, id: &str) -> Result<(RunState, Health, Option<i64>), DockerError> {
    let c = e.api().inspect_container(id, None).await?;
    let s = c.state.unwrap_or_default();
    let run = RunState::parse(&s.status.map(|x| x.to_string()).unwrap_or_default());
    let health = match s
        .health
        .and_then(|h| h.status)
        .map(|h| h.to_string())
        .as_deref()
    {
        Some("healthy") => Health::Healthy,
        Some("unhealthy") => Health::Unhealthy,
        Some("starting") => Health::Starting,
        _ => Health::None,
    };
    Ok((run, health, s.exit_code))
}

/// Waits until `id` meets `condition`, or fails with what it saw. Polls
/// the container's status every 100 ms up to `limit`; one that can no
/// longer meet it (unhealthy or down when it should be healthy, exited
/// when it should complete well) fails after a second instead.
pub async fn wait_for(
    e: &Engine,
    id: &str,
    condition: DependCondition,
    limit: Duration,
) -> Result<(), String> {
    let started = Instant::now();
    let mut last = (RunState::Created, Health::None, None);
    while started.elapsed() < limit {
        last = status(e, id).await.map_err(|err| err.to_string())?;
        if condition_met(condition, last.0, last.1, last.2) {
            return Ok(());
        }
        let hopeless = match condition {
            DependCondition::ServiceHealthy => last.1 == Health::Unhealthy || !last.0.is_up(),
            DependCondition::ServiceStarted => !last.0.is_up(),
            DependCondition::ServiceCompletedSuccessfully => last.0 == RunState::Exited,
        };
        if hopeless && started.elapsed() > Duration::from_secs(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!(
        "state {:?}, health {:?}, exit code {:?}",
        last.0, last.1, last.2
    )
    .to_lowercase())
}

/// Removes the named volumes tend created for `project`; returns their
/// names. Only for a stack removed from git whose last commit set
/// `remove_data: true`: the one place tend deletes data.
pub async fn remove_project_volumes(e: &Engine, project: &str) -> Result<Vec<String>, DockerError> {
    use bollard::query_parameters::ListVolumesOptions;
    let filter = format!("{}={project}", labels::PROJECT);
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![filter, format!("{}=true", labels::MANAGED)],
    )]);
    let list = e
        .api()
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filters),
        }))
        .await?;
    let mut removed = Vec::new();
    for v in list.volumes.unwrap_or_default() {
        e.mutating()
            .remove_volume(
                &v.name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await?;
        removed.push(v.name);
    }
    Ok(removed)
}

//! Reading a host: one container list, one network list, one volume list,
//! and one image inspect per image reference the desired stacks name.
//!
//! Only what carries `tend.managed=true` is read as managed; the names of
//! other containers are kept only so a plan never takes one of them. An
//! image the engine refuses to look up fails only the stacks that name it.
//! Observing changes nothing (no mutating call), so it can be repeated on
//! every trigger at no risk.

use super::{DockerError, Engine, not_found};
use crate::model::labels;
use crate::model::{
    ContainerSeen, Health, HostState, NetworkSeen, RunState, exit_code_from_status,
};
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Observes `engine`; `images` are the references whose ids the plan needs
/// (an image absent locally has no id, and the plan pulls it).
///
/// Three list calls, made together, and one inspect per image, made
/// together: an observation costs the same few round trips however many
/// stacks the host runs. Every network is listed, not only tend's, since
/// a stack may join an external one that must exist. Any list failing
/// fails the observation (a partial view could look like missing
/// containers); an image inspect failing marks only that image.
pub async fn observe(engine: &Engine, images: &BTreeSet<String>) -> Result<HostState, DockerError> {
    let api = engine.api();
    // The three lists in parallel: each is a full round trip in the engine.
    let (all, networks, volumes) = tokio::join!(
        api.list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        })),
        // All networks: external ones a stack names must be seen too.
        api.list_networks(None::<ListNetworksOptions>),
        api.list_volumes(None::<ListVolumesOptions>),
    );
    let (all, networks, volumes) = (all?, networks?, volumes?);
    let mut state = HostState::default();
    for c in all {
        let labels = c.labels.clone().unwrap_or_default();
        let name = c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default();
        if labels.get(labels::MANAGED).map(String::as_str) != Some("true") {
            state.foreign.insert(name);
            continue;
        }
        state.containers.push(container(c, name, &labels));
    }
    for n in networks {
        let l = n.labels.unwrap_or_default();
        state.networks.push(NetworkSeen {
            id: n.id.unwrap_or_default(),
            name: n.name.unwrap_or_default(),
            project: l.get(labels::PROJECT).cloned().unwrap_or_default(),
            managed: l.get(labels::MANAGED).map(String::as_str) == Some("true"),
        });
    }
    state.volumes = volumes
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect();
    let inspects = images
        .iter()
        .map(|image| async move { (image, api.inspect_image(image).await) });
    for (image, found) in futures_util::future::join_all(inspects).await {
        match found {
            Ok(i) => {
                state.images.insert(image.clone(), i.id.unwrap_or_default());
            }
            Err(e) if not_found(&e) => {}
            Err(e) => {
                state.image_errors.insert(image.clone(), e.to_string());
            }
        }
    }
    Ok(state)
}

/// One managed container as observed, from the engine's summary and its
/// labels (tend's hash and parts, compose's project and service). Missing
/// labels read as empty, so a container damaged by hand is planned as
/// changed (recreated), never trusted.
fn container(
    c: bollard::models::ContainerSummary,
    name: String,
    labels: &HashMap<String, String>,
) -> ContainerSeen {
    let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
    let status = c.status.unwrap_or_default();
    let state = c
        .state
        .map(|s| RunState::parse(s.as_ref()))
        .unwrap_or(RunState::Dead);
    ContainerSeen {
        id: c.id.unwrap_or_default(),
        name,
        project: get(labels::PROJECT),
        service: get(labels::SERVICE),
        number: get(labels::NUMBER).parse().unwrap_or(1),
        hash: get(labels::HASH),
        parts: parse_parts(&get(labels::PARTS)),
        image: labels
            .get(labels::IMAGE)
            .cloned()
            .or(c.image)
            .unwrap_or_default(),
        image_id: c.image_id.unwrap_or_default(),
        exit_code: if state == RunState::Exited {
            exit_code_from_status(&status)
        } else {
            None
        },
        health: Health::from_status(&status),
        state,
        restart: get(labels::RESTART),
    }
}

/// `k=v,k=v` → map (the `tend.config-parts` label; an item without `=` is
/// skipped, so a damaged label makes the plan recreate, never fail).
pub fn parse_parts(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// map → `k=v,k=v`, in key order (what [`parse_parts`] reads back).
pub fn format_parts(parts: &BTreeMap<String, String>) -> String {
    parts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A container's bind mounts (`source`, `destination`) and whether it runs
/// (for the upgrade of old bind copies into working directories). One
/// inspect; named volumes and tmpfs mounts are left out.
pub async fn bind_mounts(
    engine: &Engine,
    id: &str,
) -> Result<(bool, Vec<(String, String)>), DockerError> {
    let c = engine.api().inspect_container(id, None).await?;
    let running = c.state.and_then(|s| s.running).unwrap_or(false);
    let mounts = c
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("bind"))
        .filter_map(|m| Some((m.source?, m.destination?)))
        .collect();
    Ok((running, mounts))
}

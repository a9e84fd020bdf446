//! Reading a host: one container list, one network list, one volume list,
//! and one image inspect per image reference the desired stacks name.

use super::{DockerError, Engine, not_found};
use crate::model::labels;
use crate::model::{
    ContainerSeen, Health, HostState, NetworkSeen, RunState, exit_code_from_status,
};
use bollard::query_parameters::{ListContainersOptions, ListNetworksOptions, ListVolumesOptions};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Observes `engine`; `images` are the references whose ids the plan needs.
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
/// labels (tend's hash and parts, compose's project and service).
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

/// `k=v,k=v` → map.
pub fn parse_parts(text: &str) -> BTreeMap<String, String> {
    text.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// map → `k=v,k=v`.
pub fn format_parts(parts: &BTreeMap<String, String>) -> String {
    parts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// A container's bind mounts (`source`, `destination`) and whether it runs.
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

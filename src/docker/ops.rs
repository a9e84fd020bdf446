//! Single engine operations with tend's labels and conventions: names
//! `<project>-<service>-1`, `<project>_<network>`, `<project>_<volume>`.

use super::observe::format_parts;
use super::{DockerError, Engine, not_found};
use crate::model::{DependCondition, MountKind, Resource, Service};
use crate::plan::labels;
use crate::plan::render::{ServiceTarget, condition_met};
use crate::plan::{Health, RunState};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig, Ipam,
    IpamConfig, Mount, MountType, NetworkConnectRequest, NetworkCreateRequest, NetworkingConfig,
    PortBinding, RestartPolicy, RestartPolicyNameEnum, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, RemoveContainerOptions, RenameContainerOptions,
    StopContainerOptions,
};
use futures_util::StreamExt;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn base_labels(project: &str) -> HashMap<String, String> {
    HashMap::from([
        (labels::PROJECT.to_owned(), project.to_owned()),
        (labels::MANAGED.to_owned(), "true".to_owned()),
    ])
}

/// Creates `<project>_<key>`; returns its id.
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

/// Creates the named volume `<project>_<key>`.
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

/// Removes a network, retrying while the engine still counts endpoints.
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

/// Pulls `image` (the engine's registry access; no credentials).
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

/// Pulls `image` unless the engine has it.
pub async fn ensure_image(e: &Engine, image: &str) -> Result<(), DockerError> {
    match e.api().inspect_image(image).await {
        Ok(_) => Ok(()),
        Err(err) if not_found(&err) => pull(e, image).await,
        Err(err) => Err(err.into()),
    }
}

fn split_tag(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name, tag),
        _ => (image, "latest"),
    }
}

/// What a new container needs beyond its spec.
pub struct NewContainer<'a> {
    /// Stack (project) name.
    pub project: &'a str,
    /// Service name.
    pub service: &'a str,
    /// The rendered service.
    pub target: &'a ServiceTarget,
    /// Network key → id.
    pub networks: &'a HashMap<String, String>,
    /// The commit in force.
    pub commit: &'a str,
    /// The stack's working directory and its compose file's name there.
    pub project_dir: Option<(&'a std::path::Path, &'a str)>,
    /// The stack's declared volumes (their engine names).
    pub volumes: Option<&'a std::collections::BTreeMap<String, Resource>>,
}

/// Creates the container; returns its id.
pub async fn create_container(e: &Engine, n: &NewContainer<'_>) -> Result<String, DockerError> {
    let spec = &n.target.spec;
    let name = n.target.container(n.project, n.service);
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.extend(base_labels(n.project));
    for (k, v) in [
        (labels::SERVICE, n.service.to_owned()),
        (labels::NUMBER, "1".to_owned()),
        (labels::HASH, n.target.hash.clone()),
        (labels::PARTS, format_parts(&n.target.parts)),
        (labels::IMAGE, spec.image.clone()),
        (labels::RESTART, spec.restart.clone()),
        (labels::COMMIT, n.commit.to_owned()),
    ] {
        labels.insert(k.to_owned(), v);
    }
    if let Some((dir, file)) = n.project_dir {
        labels.insert(labels::WORKING_DIR.into(), dir.display().to_string());
        labels.insert(
            labels::CONFIG_FILES.into(),
            dir.join(file).display().to_string(),
        );
        if dir.join(".env").is_file() {
            let env = dir.join(".env").display().to_string();
            labels.insert(labels::ENVIRONMENT_FILE.into(), env);
        }
    }
    let mut nets: Vec<(&String, &Vec<String>)> = spec.networks.iter().collect();
    let default = (String::from("default"), Vec::new());
    if nets.is_empty() {
        nets.push((&default.0, &default.1));
    }
    let endpoint =
        |key: &str, aliases: &Vec<String>| -> Result<(String, EndpointSettings), DockerError> {
            let id = n.networks.get(key).ok_or_else(|| {
                DockerError::Api(format!("network {}_{key} does not exist", n.project))
            })?;
            let mut all = vec![n.service.to_owned()];
            all.extend(aliases.iter().cloned());
            let ipam = spec
                .options
                .addresses
                .get(key)
                .map(|(v4, v6)| EndpointIpamConfig {
                    ipv4_address: v4.clone(),
                    ipv6_address: v6.clone(),
                    ..Default::default()
                });
            Ok((
                id.clone(),
                EndpointSettings {
                    aliases: Some(all),
                    ipam_config: ipam,
                    ..Default::default()
                },
            ))
        };
    let own_mode = spec.options.network_mode.is_some();
    let (first_id, first) = if own_mode {
        (String::new(), EndpointSettings::default())
    } else {
        endpoint(nets[0].0, nets[0].1)?
    };
    let body = ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(n.target.env.clone()),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        labels: Some(labels),
        exposed_ports: Some(
            spec.ports
                .iter()
                .map(|p| format!("{}/{}", p.target, p.protocol))
                .collect(),
        ),
        healthcheck: spec.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval.map(nanos),
            timeout: h.timeout.map(nanos),
            retries: h.retries.map(i64::from),
            start_period: h.start_period.map(nanos),
            start_interval: None,
        }),
        stop_timeout: spec.stop_grace_period.map(|d| d.as_secs() as i64),
        host_config: Some(host_config(spec, n.project, &first_id, n.volumes)),
        networking_config: (!own_mode).then(|| NetworkingConfig {
            endpoints_config: Some(HashMap::from([(first_id.clone(), first)])),
        }),
        ..Default::default()
    };
    let mut body = body;
    super::options::apply(&spec.options, &mut body);
    let created = e
        .mutating()
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name.clone()),
                ..Default::default()
            }),
            body,
        )
        .await
        .map_err(|err| match err {
            bollard::errors::Error::DockerResponseServerError { status_code: 409, .. } => {
                DockerError::Conflict(format!(
                    "container name {name} is taken by a container tend did not create; rename or remove it"
                ))
            }
            other => other.into(),
        })?;
    for (key, aliases) in nets.iter().skip(1).filter(|_| !own_mode) {
        let (id, settings) = endpoint(key, aliases)?;
        e.mutating()
            .connect_network(
                &id,
                NetworkConnectRequest {
                    container: created.id.clone(),
                    endpoint_config: Some(settings),
                },
            )
            .await?;
    }
    Ok(created.id)
}

fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

fn host_config(
    spec: &Service,
    project: &str,
    network: &str,
    volumes: Option<&std::collections::BTreeMap<String, Resource>>,
) -> HostConfig {
    let mut ports: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.ports {
        ports
            .entry(format!("{}/{}", p.target, p.protocol))
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                host_ip: p.host_ip.clone(),
                host_port: p.published.clone(),
            });
    }
    // Binds as `src:dst[:ro]`, as compose sends them: the engine creates a
    // missing host path, as the short syntax promises.
    let binds: Vec<String> = spec
        .volumes
        .iter()
        .filter(|m| m.kind == MountKind::Bind)
        .map(|m| {
            let ro = if m.read_only { ":ro" } else { "" };
            format!("{}:{}{ro}", m.source, m.target)
        })
        .collect();
    let mounts = spec
        .volumes
        .iter()
        .filter(|m| m.kind == MountKind::Volume)
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: Some(match m.kind {
                MountKind::Bind => m.source.clone(),
                MountKind::Volume if m.source.is_empty() => String::new(),
                MountKind::Volume => volumes.and_then(|v| v.get(&m.source)).map_or_else(
                    || format!("{project}_{}", m.source),
                    |r| r.full_name(project, &m.source),
                ),
            }),
            typ: Some(match m.kind {
                MountKind::Bind => MountType::BIND,
                MountKind::Volume => MountType::VOLUME,
            }),
            read_only: Some(m.read_only),
            ..Default::default()
        })
        .collect();
    let (policy, count) = spec.restart.split_once(':').unwrap_or((&spec.restart, ""));
    let name = match policy {
        "always" => RestartPolicyNameEnum::ALWAYS,
        "unless-stopped" => RestartPolicyNameEnum::UNLESS_STOPPED,
        "on-failure" => RestartPolicyNameEnum::ON_FAILURE,
        _ => RestartPolicyNameEnum::NO,
    };
    HostConfig {
        port_bindings: Some(ports),
        binds: (!binds.is_empty()).then_some(binds),
        mounts: Some(mounts),
        restart_policy: Some(RestartPolicy {
            name: Some(name),
            maximum_retry_count: count.parse().ok(),
        }),
        init: spec.init.then_some(true),
        network_mode: Some(network.to_owned()),
        ..Default::default()
    }
}

/// Starts a container (already running is fine).
pub async fn start(e: &Engine, id: &str) -> Result<(), DockerError> {
    match e.mutating().start_container(id, None).await {
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        })
        | Ok(()) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Stops a container with its own grace period (already stopped is fine).
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

/// Stops and removes a container (gone already is fine).
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

/// Renames a container.
pub async fn rename(e: &Engine, id: &str, name: &str) -> Result<(), DockerError> {
    let opts = RenameContainerOptions {
        name: name.to_owned(),
    };
    Ok(e.mutating().rename_container(id, opts).await?)
}

/// Run state, health and exit code of a container.
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

/// Waits until `id` meets `condition`, or fails with what it saw.
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

/// Removes the named volumes tend created for `project`; returns their names.
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

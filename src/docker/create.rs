//! Creating a service's container: tend's and compose's labels, the first
//! network at create time and the others connected after, ports, binds and
//! volumes, restart policy, health check and every container option.
//!
//! The container is made as docker-compose makes it for the same file
//! (the compose differential tests compare the two field by field): the
//! same name, labels, endpoint aliases, network order and host config, plus
//! tend's own labels (`tend.managed`, the config hash and its parts, the
//! image as written, the restart policy and the commit), which are how the
//! next observation tells what the container was made from. A name taken
//! by a container tend did not create is a conflict, never a removal.

use super::observe::format_parts;
use super::ops::base_labels;
use super::{DockerError, Engine};
use crate::model::ServiceTarget;
use crate::model::labels;
use crate::model::{MountKind, Resource, Service};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HealthConfig, HostConfig, Mount,
    MountType, NetworkConnectRequest, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use bollard::query_parameters::CreateContainerOptions;
use std::collections::HashMap;
use std::time::Duration;

/// What a new container needs beyond its spec: where it belongs (project,
/// service, replica), the networks the apply made or found, the commit,
/// and the stack's declared resources for their engine names.
pub struct NewContainer<'a> {
    /// Stack (project) name.
    pub project: &'a str,
    /// Service name.
    pub service: &'a str,
    /// Which of its replicas, from 1.
    pub number: u32,
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
    /// The stack's declared networks (their engine names).
    pub declared_networks: Option<&'a std::collections::BTreeMap<String, Resource>>,
}

/// Creates the container; returns its id. It joins its first network at
/// create time and the others right after (the engine takes one endpoint
/// in the create call); with its own `network_mode` it joins none. The
/// container is not started here.
pub async fn create_container(e: &Engine, n: &NewContainer<'_>) -> Result<String, DockerError> {
    let spec = &n.target.spec;
    let name = n.target.container_n(n.project, n.service, n.number);
    let nets = ordered_networks(n);
    let own_mode = spec.options.network_mode.is_some();
    let (first_id, first) = if own_mode {
        (String::new(), EndpointSettings::default())
    } else {
        endpoint(n, nets[0].0, nets[0].1)?
    };
    let mut body = create_body(n, &first_id);
    body.networking_config = (!own_mode).then(|| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(first_id.clone(), first)])),
    });
    super::options::apply(&spec.options, &mut body);
    let named = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let created = e
        .mutating()
        .create_container(Some(named), body)
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
        let (id, settings) = endpoint(n, key, aliases)?;
        let connect = NetworkConnectRequest {
            container: created.id.clone(),
            endpoint_config: Some(settings),
        };
        e.mutating().connect_network(&id, connect).await?;
    }
    Ok(created.id)
}

/// The container's labels: the service's own, then compose's and tend's
/// (project, service, number, hash and parts, image, restart, commit, and
/// the project directory with its compose file and `.env`). tend's and
/// compose's keys win over a service label of the same name, so a stack
/// cannot make a container look like another stack's.
fn container_labels(n: &NewContainer<'_>) -> HashMap<String, String> {
    let spec = &n.target.spec;
    let mut labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    labels.extend(base_labels(n.project));
    for (k, v) in [
        (labels::SERVICE, n.service.to_owned()),
        (labels::NUMBER, n.number.to_string()),
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
    labels
}

/// The service's networks (key, aliases) in the order they are joined:
/// highest `priority` first, then by engine name, as docker-compose orders
/// them; `default` when it names none. The first is joined at create time.
/// The order matters beyond looks: the first network gives the container
/// its default route.
fn ordered_networks<'a>(n: &NewContainer<'a>) -> Vec<(&'a String, &'a Vec<String>)> {
    static DEFAULT: std::sync::LazyLock<(String, Vec<String>)> =
        std::sync::LazyLock::new(|| ("default".to_owned(), Vec::new()));
    let spec = &n.target.spec;
    let full = |key: &str| {
        let declared = n.declared_networks.and_then(|d| d.get(key));
        declared
            .unwrap_or(&crate::model::UNDECLARED)
            .full_name(n.project, key)
    };
    let mut nets: Vec<(&String, &Vec<String>)> = spec.networks.iter().collect();
    let priority = |key: &str| -spec.options.network_priority.get(key).copied().unwrap_or(0);
    nets.sort_by_cached_key(|(key, _)| (priority(key), full(key)));
    if nets.is_empty() {
        nets.push((&DEFAULT.0, &DEFAULT.1));
    }
    nets
}

/// The network id of `key` and the endpoint on it: the service name and
/// its aliases, and fixed addresses when the service gives them. A network
/// the apply has not created or found is an error naming it (its own
/// creation failed earlier in the same apply, and that step says why).
fn endpoint(
    n: &NewContainer<'_>,
    key: &str,
    aliases: &[String],
) -> Result<(String, EndpointSettings), DockerError> {
    let id = n
        .networks
        .get(key)
        .ok_or_else(|| DockerError::Api(format!("network {}_{key} does not exist", n.project)))?;
    let mut all = vec![n.service.to_owned()];
    all.extend(aliases.iter().cloned());
    let ipam = n
        .target
        .spec
        .options
        .addresses
        .get(key)
        .map(|(v4, v6)| EndpointIpamConfig {
            ipv4_address: v4.clone(),
            ipv6_address: v6.clone(),
            ..Default::default()
        });
    let settings = EndpointSettings {
        aliases: Some(all),
        ipam_config: ipam,
        ..Default::default()
    };
    Ok((id.clone(), settings))
}

/// The create call's body but for networking and the container options
/// (`options::apply` adds those): image, command, environment, labels,
/// ports, health check, stop timeout and the host config. The environment
/// is the rendered one (the service's `environment` over its env files).
fn create_body(n: &NewContainer<'_>, first_network: &str) -> ContainerCreateBody {
    let spec = &n.target.spec;
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        entrypoint: spec.entrypoint.clone(),
        env: Some(n.target.env.clone()),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        labels: Some(container_labels(n)),
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
        host_config: Some(host_config(spec, n.project, first_network, n.volumes)),
        ..Default::default()
    }
}

/// A duration in the engine's nanoseconds (saturating: a duration too long
/// for an `i64` becomes the largest one).
fn nanos(d: Duration) -> i64 {
    d.as_nanos().min(i64::MAX as u128) as i64
}

/// The host config: binds and mounts, ports, restart policy and the rest
/// of what the engine keeps outside the container's own config. Binds keep
/// their source path as rendered (a working directory or the folder);
/// named volumes and tmpfs go to `Mounts`, as compose sends them. Ports of
/// one container port are grouped (several host bindings each), the
/// restart policy is split into its name and retry count (`on-failure:3`),
/// and `network_mode` is the first network's id (a service's own mode
/// replaces it, in `options`).
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
            let ro = m.read_only.then_some("ro");
            let mode: Vec<&str> = ro.into_iter().chain(words(&m.options)).collect();
            match mode.is_empty() {
                true => format!("{}:{}", m.source, m.target),
                false => format!("{}:{}:{}", m.source, m.target, mode.join(",")),
            }
        })
        .collect();
    let mounts = spec
        .volumes
        .iter()
        .filter(|m| m.kind != MountKind::Bind)
        .map(|m| engine_mount(m, project, volumes))
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

/// The comma-separated words of a volume's options (`ro,z`), without
/// empty ones.
fn words(options: &str) -> impl Iterator<Item = &str> {
    options.split(',').filter(|w| !w.is_empty())
}

/// A named volume or a tmpfs as the engine's `Mounts` take it: a volume
/// by its engine name (`<project>_<key>` unless declared with `name:`), an
/// anonymous one without a source, a tmpfs with its `size` and `mode`;
/// `nocopy` and `ro` as written.
fn engine_mount(
    m: &crate::model::Mount,
    project: &str,
    volumes: Option<&std::collections::BTreeMap<String, Resource>>,
) -> Mount {
    let option = |key: &str| {
        words(&m.options).find_map(|w| w.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
    };
    let (typ, source) = match m.kind {
        MountKind::Tmpfs => (MountType::TMPFS, None),
        _ if m.source.is_empty() => (MountType::VOLUME, Some(String::new())),
        _ => (
            MountType::VOLUME,
            Some(volumes.and_then(|v| v.get(&m.source)).map_or_else(
                || format!("{project}_{}", m.source),
                |r| r.full_name(project, &m.source),
            )),
        ),
    };
    let tmpfs = (m.kind == MountKind::Tmpfs).then(|| bollard::models::MountTmpfsOptions {
        size_bytes: option("size").and_then(|s| s.parse().ok()),
        mode: option("mode").and_then(|s| i64::from_str_radix(&s, 8).ok()),
        ..Default::default()
    });
    let nocopy = words(&m.options).any(|w| w == "nocopy");
    Mount {
        target: Some(m.target.clone()),
        source,
        typ: Some(typ),
        read_only: Some(m.read_only),
        volume_options: nocopy.then(|| bollard::models::MountVolumeOptions {
            no_copy: Some(true),
            ..Default::default()
        }),
        tmpfs_options: tmpfs,
        ..Default::default()
    }
}

//! Compose files: the supported subset of the Compose Specification as
//! strict serde structs (any other key is an error naming it), and the
//! conversion of one service into the normalised [`Service`].

use super::at::{At, RawNode};
use super::compose_files as files;
use super::compose_forms::{self as forms, Errs};
use super::node::{Node, Value};
use super::raw::{Scalar, XTend};
use crate::model::Service;
use serde::Deserialize;
use std::collections::BTreeMap;

/// A compose file as tend reads it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeFile {
    /// Services by name.
    pub services: BTreeMap<String, At<ServiceSpec>>,
    /// Top-level networks.
    #[serde(default)]
    pub networks: BTreeMap<String, Option<ResourceSpec>>,
    /// Top-level named volumes.
    #[serde(default)]
    pub volumes: BTreeMap<String, Option<ResourceSpec>>,
    /// Obsolete in the Compose Specification; accepted and ignored.
    #[serde(rename = "version")]
    _version: Option<RawNode>,
    /// Top-level secrets (from files).
    #[serde(default)]
    pub secrets: BTreeMap<String, At<files::FileSpec>>,
    /// Top-level configs (from files).
    #[serde(default)]
    pub configs: BTreeMap<String, At<files::FileSpec>>,
    /// Project name; must equal the stack's folder name.
    pub name: Option<At<String>>,
    /// tend's own settings for the stack.
    #[serde(rename = "x-tend")]
    pub x_tend: Option<At<XTend>>,
}

/// A top-level network or volume.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    /// Driver; the engine default when absent.
    pub driver: Option<String>,
    /// Managed outside the stack: `true`, or the legacy `{name: …}`.
    pub external: Option<RawNode>,
    /// The engine's name.
    pub name: Option<String>,
    /// Driver options.
    pub driver_opts: Option<RawNode>,
    /// Labels.
    pub labels: Option<RawNode>,
    /// Networks: no outside access.
    pub internal: Option<bool>,
    /// Networks: standalone containers may attach.
    pub attachable: Option<bool>,
    /// Networks: IPv6.
    pub enable_ipv6: Option<bool>,
    /// Networks: address management.
    pub ipam: Option<RawNode>,
}

/// One service, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    image: Option<At<String>>,
    command: Option<RawNode>,
    entrypoint: Option<RawNode>,
    environment: Option<RawNode>,
    pub(super) env_file: Option<RawNode>,
    ports: Option<Vec<RawNode>>,
    volumes: Option<Vec<RawNode>>,
    restart: Option<At<String>>,
    labels: Option<RawNode>,
    pub(super) depends_on: Option<RawNode>,
    healthcheck: Option<super::compose_health::HealthSpec>,
    pub(super) networks: Option<RawNode>,
    pub(super) secrets: Option<RawNode>,
    pub(super) build: Option<RawNode>,
    pub(super) configs: Option<RawNode>,
    /// Compose profiles this service belongs to (inactive unless enabled).
    pub(super) profiles: Option<RawNode>,
    user: Option<Scalar>,
    working_dir: Option<String>,
    init: Option<bool>,
    stop_grace_period: Option<At<String>>,
    container_name: Option<RawNode>,
    hostname: Option<RawNode>,
    domainname: Option<RawNode>,
    network_mode: Option<RawNode>,
    privileged: Option<RawNode>,
    tty: Option<RawNode>,
    stdin_open: Option<RawNode>,
    read_only: Option<RawNode>,
    cap_add: Option<RawNode>,
    cap_drop: Option<RawNode>,
    security_opt: Option<RawNode>,
    dns: Option<RawNode>,
    dns_search: Option<RawNode>,
    dns_opt: Option<RawNode>,
    group_add: Option<RawNode>,
    stop_signal: Option<RawNode>,
    pid: Option<RawNode>,
    ipc: Option<RawNode>,
    shm_size: Option<RawNode>,
    mem_limit: Option<RawNode>,
    mem_reservation: Option<RawNode>,
    memswap_limit: Option<RawNode>,
    cpus: Option<RawNode>,
    cpu_shares: Option<RawNode>,
    cpuset: Option<RawNode>,
    pids_limit: Option<RawNode>,
    oom_score_adj: Option<RawNode>,
    oom_kill_disable: Option<RawNode>,
    userns_mode: Option<RawNode>,
    cgroup_parent: Option<RawNode>,
    cgroup: Option<RawNode>,
    mac_address: Option<RawNode>,
    storage_opt: Option<RawNode>,
    annotations: Option<RawNode>,
    runtime: Option<RawNode>,
    devices: Option<RawNode>,
    extra_hosts: Option<RawNode>,
    expose: Option<RawNode>,
    sysctls: Option<RawNode>,
    tmpfs: Option<RawNode>,
    ulimits: Option<RawNode>,
    logging: Option<RawNode>,
    gpus: Option<RawNode>,
    deploy: Option<RawNode>,
    scale: Option<RawNode>,
    post_start: Option<RawNode>,
    pre_stop: Option<RawNode>,
    /// Accepted; no effect on the container (pulls use the engine's platform).
    #[serde(rename = "platform")]
    _platform: Option<RawNode>,
    /// Accepted; no effect on the container (pulls use the engine's platform).
    #[serde(rename = "pull_policy")]
    _pull_policy: Option<RawNode>,
    /// Accepted; no effect on the container (pulls use the engine's platform).
    #[serde(rename = "links")]
    _links: Option<RawNode>,
    /// Accepted; no effect on the container (pulls use the engine's platform).
    #[serde(rename = "external_links")]
    _external_links: Option<RawNode>,
}

/// Removes `x-…` extension keys (other than `x-tend`) from the top level and
/// from each service, as the Compose Specification allows them anywhere.
pub fn strip_extensions(root: &mut Node) {
    let is_ext = |k: &Node, keep_tend: bool| {
        k.as_str()
            .is_some_and(|s| s.starts_with("x-") && !(keep_tend && s == "x-tend"))
    };
    let Value::Map(entries) = &mut root.value else {
        return;
    };
    entries.retain(|(k, _)| !is_ext(k, true));
    for (k, v) in entries.iter_mut() {
        if k.as_str() != Some("services") {
            continue;
        }
        if let Value::Map(services) = &mut v.value {
            for (_, service) in services.iter_mut() {
                if let Value::Map(keys) = &mut service.value {
                    keys.retain(|(k, _)| !is_ext(k, false));
                }
            }
        }
    }
}

impl ServiceSpec {
    /// The container-option keys present, by name.
    fn raw_options(&self) -> super::compose_opts::Raw<'_> {
        let all = [
            ("container_name", &self.container_name),
            ("hostname", &self.hostname),
            ("domainname", &self.domainname),
            ("network_mode", &self.network_mode),
            ("privileged", &self.privileged),
            ("tty", &self.tty),
            ("stdin_open", &self.stdin_open),
            ("read_only", &self.read_only),
            ("cap_add", &self.cap_add),
            ("cap_drop", &self.cap_drop),
            ("security_opt", &self.security_opt),
            ("dns", &self.dns),
            ("dns_search", &self.dns_search),
            ("dns_opt", &self.dns_opt),
            ("group_add", &self.group_add),
            ("stop_signal", &self.stop_signal),
            ("pid", &self.pid),
            ("ipc", &self.ipc),
            ("shm_size", &self.shm_size),
            ("mem_limit", &self.mem_limit),
            ("mem_reservation", &self.mem_reservation),
            ("memswap_limit", &self.memswap_limit),
            ("cpus", &self.cpus),
            ("cpu_shares", &self.cpu_shares),
            ("cpuset", &self.cpuset),
            ("pids_limit", &self.pids_limit),
            ("oom_score_adj", &self.oom_score_adj),
            ("oom_kill_disable", &self.oom_kill_disable),
            ("userns_mode", &self.userns_mode),
            ("cgroup_parent", &self.cgroup_parent),
            ("cgroup", &self.cgroup),
            ("mac_address", &self.mac_address),
            ("storage_opt", &self.storage_opt),
            ("annotations", &self.annotations),
            ("runtime", &self.runtime),
            ("devices", &self.devices),
            ("extra_hosts", &self.extra_hosts),
            ("expose", &self.expose),
            ("sysctls", &self.sysctls),
            ("tmpfs", &self.tmpfs),
            ("ulimits", &self.ulimits),
            ("logging", &self.logging),
            ("gpus", &self.gpus),
            ("deploy", &self.deploy),
        ];
        all.into_iter()
            .filter_map(|(k, v)| Some((k, &v.as_ref()?.0)))
            .collect()
    }
}

/// Normalises service `name`; `dir` is the stack folder (for relative
/// paths; its name is the project's).
pub fn service(spec: &At<ServiceSpec>, name: &str, dir: &str, errs: &mut Errs) -> Service {
    let at = spec.pos;
    let spec = &spec.value;
    let restart = spec
        .restart
        .as_ref()
        .map_or_else(|| "no".to_owned(), |r| r.value.clone());
    if let Some(at) = &spec.restart {
        let ok = matches!(
            restart.as_str(),
            "no" | "always" | "unless-stopped" | "on-failure"
        ) || restart
            .strip_prefix("on-failure:")
            .is_some_and(|n| n.parse::<u32>().is_ok());
        if !ok {
            let msg = format!(
                "restart policy `{restart}` must be no, always, unless-stopped or on-failure[:N]"
            );
            errs.push((at.pos, msg));
        }
    }
    let build = spec
        .build
        .as_ref()
        .and_then(|b| super::compose_build::build(&b.0, dir, errs))
        .map(Box::new);
    let project = dir.rsplit('/').next().unwrap_or(dir);
    let image = match (&spec.image, &spec.build) {
        (Some(image), _) => {
            if let Err(e) = super::values::check_image(&image.value) {
                errs.push((image.pos, e));
            }
            image.value.clone()
        }
        // As compose names a built image without `image:`.
        (None, Some(_)) => format!("{project}-{name}"),
        (None, None) => {
            errs.push((at, format!("service {name} needs `image` or `build`")));
            String::new()
        }
    };
    let labels = spec.labels.as_ref().map(|l| forms::key_values(&l.0, errs));
    let nets = spec
        .networks
        .as_ref()
        .map(|n| forms::service_networks(&n.0, errs))
        .unwrap_or_default();
    let mut out = Service {
        image,
        build,
        command: spec.command.as_ref().and_then(|c| forms::words(&c.0, errs)),
        entrypoint: spec
            .entrypoint
            .as_ref()
            .and_then(|c| forms::words(&c.0, errs)),
        environment: spec
            .environment
            .as_ref()
            .map(|e| forms::key_values(&e.0, errs))
            .unwrap_or_default(),
        env_file: spec
            .env_file
            .as_ref()
            .map(|e| files::env_files(&e.0, dir, errs))
            .unwrap_or_default()
            .into_iter()
            .map(|(_, f)| f)
            .collect(),
        ports: spec
            .ports
            .iter()
            .flatten()
            .filter_map(|p| forms::port(&p.0, errs))
            .collect(),
        volumes: spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| super::compose_mounts::mount(&v.0, errs))
            .collect(),
        restart,
        labels: labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.unwrap_or_default()))
            .collect(),
        depends_on: spec
            .depends_on
            .as_ref()
            .map(|d| forms::depends_on(&d.0, errs))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, (_, c))| (k, c))
            .collect(),
        healthcheck: spec
            .healthcheck
            .as_ref()
            .and_then(|h| super::compose_health::healthcheck(h, errs)),
        networks: nets
            .iter()
            .map(|(k, n)| (k.clone(), n.aliases.clone()))
            .collect(),
        user: spec.user.as_ref().map(Scalar::text),
        working_dir: spec.working_dir.clone(),
        init: spec.init.unwrap_or(false),
        stop_grace_period: super::compose_health::opt_duration(&spec.stop_grace_period, errs),
        options: Box::new(super::compose_opts::options(&spec.raw_options(), errs)),
        sources: Vec::new(),
        replicas: super::compose_hooks::replicas(
            spec.scale.as_ref().map(|s| &s.0),
            spec.deploy.as_ref().map(|d| &d.0),
            errs,
        ),
        inject: Vec::new(),
        post_start: super::compose_hooks::hooks_of(&spec.post_start, errs),
        pre_stop: super::compose_hooks::hooks_of(&spec.pre_stop, errs),
    };
    if let (Some(n), Some(c)) = (out.replicas.filter(|n| *n > 1), &spec.container_name) {
        let msg = format!(
            "container_name cannot be set with {n} replicas: each container needs its own name"
        );
        errs.push((c.0.pos, msg));
    }
    out.options.network_priority = nets
        .iter()
        .filter_map(|(k, n)| Some((k.clone(), n.priority?)))
        .collect();
    out.options.addresses = nets
        .into_iter()
        .filter(|(_, n)| n.addresses.0.is_some() || n.addresses.1.is_some())
        .map(|(k, n)| (k, n.addresses))
        .collect();
    // `network_mode: service:X` shares X's network: X starts first.
    if let Some(x) = out
        .options
        .network_mode
        .as_deref()
        .and_then(|m| m.strip_prefix("service:"))
    {
        let x = x.to_owned();
        out.depends_on
            .entry(x)
            .or_insert(crate::model::DependCondition::ServiceStarted);
    }
    out
}

/// The services' `secrets:`/`configs:`: read-only binds of the files,
/// copies of the texts.
pub(super) fn file_mounts(
    spec: &ComposeFile,
    services: &mut BTreeMap<String, crate::model::Service>,
    vars: &BTreeMap<String, String>,
    errs: &mut Errs,
) {
    let lookup = |k: &str| vars.get(k).cloned();
    let secrets = files::declared(&spec.secrets, files::Kind::Secret, &lookup, errs);
    let configs = files::declared(&spec.configs, files::Kind::Config, &lookup, errs);
    for (name, raw) in &spec.services {
        let Some(service) = services.get_mut(name) else {
            continue;
        };
        for (refs, known, kind) in [
            (&raw.value.secrets, &secrets, files::Kind::Secret),
            (&raw.value.configs, &configs, files::Kind::Config),
        ] {
            if let Some(r) = refs {
                let (binds, texts) = files::mounts(&r.0, known, kind, errs);
                service.volumes.extend(binds);
                service.inject.extend(texts);
            }
        }
    }
}

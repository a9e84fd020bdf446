//! Compose files: the supported subset of the Compose Specification as
//! strict serde structs (any other key is an error naming it), and the
//! services' file mounts; one service's conversion into the normalised
//! [`crate::model::Service`] is in `compose_service`.

use super::at::{At, RawNode};
use super::compose_files as files;
use super::compose_forms::Errs;
use super::node::{Node, Value};
use super::raw::{Scalar, XTend};
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
    pub(super) image: Option<At<String>>,
    pub(super) command: Option<RawNode>,
    pub(super) entrypoint: Option<RawNode>,
    pub(super) environment: Option<RawNode>,
    pub(super) env_file: Option<RawNode>,
    pub(super) ports: Option<Vec<RawNode>>,
    pub(super) volumes: Option<Vec<RawNode>>,
    pub(super) restart: Option<At<String>>,
    pub(super) labels: Option<RawNode>,
    pub(super) depends_on: Option<RawNode>,
    pub(super) healthcheck: Option<super::compose_health::HealthSpec>,
    pub(super) networks: Option<RawNode>,
    pub(super) secrets: Option<RawNode>,
    pub(super) build: Option<RawNode>,
    pub(super) configs: Option<RawNode>,
    /// Compose profiles this service belongs to (inactive unless enabled).
    pub(super) profiles: Option<RawNode>,
    pub(super) user: Option<Scalar>,
    pub(super) working_dir: Option<String>,
    pub(super) init: Option<bool>,
    pub(super) stop_grace_period: Option<At<String>>,
    pub(super) container_name: Option<RawNode>,
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
    pub(super) deploy: Option<RawNode>,
    pub(super) scale: Option<RawNode>,
    pub(super) post_start: Option<RawNode>,
    pub(super) pre_stop: Option<RawNode>,
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
    pub(super) fn raw_options(&self) -> super::compose_opts::Raw<'_> {
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

/// Top-level secrets and configs whose file is SOPS-encrypted: by
/// (`secrets`|`configs`, name), the placeholder their content travels as.
pub(super) type SealedFiles = BTreeMap<(&'static str, String), String>;

/// The services' `secrets:`/`configs:`: read-only binds of the files,
/// copies of the texts (and of SOPS-encrypted files, decrypted on the host).
pub(super) fn file_mounts(
    spec: &ComposeFile,
    services: &mut BTreeMap<String, crate::model::Service>,
    (vars, sealed): (&BTreeMap<String, String>, &SealedFiles),
    errs: &mut Errs,
) {
    let lookup = |k: &str| vars.get(k).cloned();
    let mut secrets = files::declared(&spec.secrets, files::Kind::Secret, &lookup, errs);
    let mut configs = files::declared(&spec.configs, files::Kind::Config, &lookup, errs);
    for ((kind, name), text) in sealed {
        let known = if *kind == "secrets" {
            &mut secrets
        } else {
            &mut configs
        };
        if let Some(source) = known.get_mut(name) {
            *source = files::Source::Text(text.clone());
        }
    }
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

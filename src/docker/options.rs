//! A service's [`ContainerOptions`] onto the Engine API's container and
//! host config: each option sets only its own fields, and an option left
//! at its default leaves the engine's default in place.
//!
//! "Left at its default" is what keeps tend's containers equal to
//! compose's: an empty list is sent as no list, a `false` flag as no flag,
//! so the engine reports the same Config and HostConfig for both. Where
//! compose sends an empty value on purpose (device requests' ids and
//! options), tend sends it too.

use crate::model::ContainerOptions;
use bollard::models::{
    ContainerCreateBody, DeviceMapping, DeviceRequest, HostConfig, HostConfigLogConfig,
    ResourcesUlimits,
};

/// `None` for an empty list (the engine's default), else the list: an
/// empty list sent as such would differ from compose's container.
fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// Sets the options on `body` (its host config must be there): the
/// container's own fields (hostname, domain, tty, stdin, stop signal,
/// exposed ports) and the host config's groups below.
pub fn apply(o: &ContainerOptions, body: &mut ContainerCreateBody) {
    body.hostname = o.hostname.clone().or(body.hostname.take());
    body.domainname = o.domainname.clone();
    body.tty = o.tty.then_some(true);
    body.open_stdin = o.stdin_open.then_some(true);
    body.stop_signal = o.stop_signal.clone();
    if !o.expose.is_empty() {
        let ports = body.exposed_ports.get_or_insert_with(Vec::new);
        for p in &o.expose {
            if !ports.contains(p) {
                ports.push(p.clone());
            }
        }
    }
    let h: &mut HostConfig = body.host_config.get_or_insert_with(HostConfig::default);
    host(o, h);
    devices(o, h);
    limits(o, h);
}

/// Privileges, name resolution, namespaces and runtime of the host config,
/// and the log driver (with its options as written).
fn host(o: &ContainerOptions, h: &mut HostConfig) {
    if let Some(mode) = &o.network_mode {
        h.network_mode = Some(mode.clone());
    }
    h.privileged = o.privileged.then_some(true);
    h.readonly_rootfs = o.read_only.then_some(true);
    h.cap_add = some(o.cap_add.clone());
    h.cap_drop = some(o.cap_drop.clone());
    h.security_opt = some(o.security_opt.clone());
    h.dns = some(o.dns.clone());
    h.dns_search = some(o.dns_search.clone());
    h.dns_options = some(o.dns_opt.clone());
    h.extra_hosts = some(o.extra_hosts.clone());
    h.group_add = some(o.group_add.clone());
    h.pid_mode = o.pid.clone();
    h.ipc_mode = o.ipc.clone();
    h.userns_mode = o.userns_mode.clone();
    h.cgroup_parent = o.cgroup_parent.clone();
    h.runtime = o.runtime.clone();
    h.cgroupns_mode = o.cgroup.as_deref().map(|m| match m {
        "host" => bollard::models::HostConfigCgroupnsModeEnum::HOST,
        _ => bollard::models::HostConfigCgroupnsModeEnum::PRIVATE,
    });
    h.log_config = o
        .logging
        .as_ref()
        .map(|(driver, opts)| HostConfigLogConfig {
            typ: Some(driver.clone()),
            config: Some(opts.clone().into_iter().collect()),
        });
}

/// Devices (`host:container:perms` mappings) and GPUs as device requests
/// (`gpus:` and `deploy.resources.reservations.devices`). Each request is
/// sent whole, empty lists included, so the engine stores what compose's
/// container would have.
fn devices(o: &ContainerOptions, h: &mut HostConfig) {
    h.devices = some(
        o.devices
            .iter()
            .map(|(src, dst, perm)| DeviceMapping {
                path_on_host: Some(src.clone()),
                path_in_container: Some(dst.clone()),
                cgroup_permissions: Some(perm.clone()),
            })
            .collect(),
    );
    h.device_requests = some(
        o.gpus
            .iter()
            .map(|(driver, count, ids, caps)| DeviceRequest {
                driver: Some(driver.clone()),
                count: Some(*count),
                // Empty lists and maps sent as such, as compose does (the
                // engine keeps what it is given).
                device_ids: Some(ids.clone()),
                capabilities: Some(vec![caps.clone()]),
                options: Some(Default::default()),
            })
            .collect(),
    );
}

/// Resource limits, sysctls, tmpfs and storage options (sizes in bytes as
/// the compose forms gave them; CPUs as nano-CPUs).
fn limits(o: &ContainerOptions, h: &mut HostConfig) {
    h.sysctls = (!o.sysctls.is_empty()).then(|| o.sysctls.clone().into_iter().collect());
    h.tmpfs = (!o.tmpfs.is_empty()).then(|| o.tmpfs.clone().into_iter().collect());
    h.ulimits = some(
        o.ulimits
            .iter()
            .map(|(name, (soft, hard))| ResourcesUlimits {
                name: Some(name.clone()),
                soft: Some(*soft),
                hard: Some(*hard),
            })
            .collect(),
    );
    h.shm_size = o.shm_size;
    h.memory = o.memory;
    h.memory_reservation = o.memory_reservation;
    h.memory_swap = o.memswap_limit;
    h.nano_cpus = o.nano_cpus;
    h.cpu_shares = o.cpu_shares;
    h.cpuset_cpus = o.cpuset.clone();
    h.pids_limit = o.pids_limit;
    h.oom_score_adj = o.oom_score_adj;
    h.oom_kill_disable = o.oom_kill_disable.then_some(true);
    h.storage_opt =
        (!o.storage_opt.is_empty()).then(|| o.storage_opt.clone().into_iter().collect());
}

//! The container options of a service beyond its process and mounts: the
//! compose service keys that map onto the Engine API's container config and
//! host config (names, capabilities, devices, resources, logging, …), each
//! in its one normalised form. A field left at its default is not
//! serialised, so it takes no part in the config hash: adding a key to
//! tend does not recreate containers that do not use it.

use serde::Serialize;
use std::collections::BTreeMap;

fn is_false(b: &bool) -> bool {
    !*b
}

/// Options of one service's container.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ContainerOptions {
    /// `container_name`: the container's name instead of `<stack>-<service>-1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `hostname`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `domainname`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname: Option<String>,
    /// `network_mode`: `host`, `none`, `bridge`, `service:NAME`, `container:NAME`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    /// `privileged`.
    #[serde(skip_serializing_if = "is_false")]
    pub privileged: bool,
    /// `tty`.
    #[serde(skip_serializing_if = "is_false")]
    pub tty: bool,
    /// `stdin_open`.
    #[serde(skip_serializing_if = "is_false")]
    pub stdin_open: bool,
    /// `read_only`: a read-only root file system.
    #[serde(skip_serializing_if = "is_false")]
    pub read_only: bool,
    /// `cap_add`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_add: Vec<String>,
    /// `cap_drop`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cap_drop: Vec<String>,
    /// `security_opt`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_opt: Vec<String>,
    /// `devices`: (host path, container path, permissions).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<(String, String, String)>,
    /// `dns`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// `dns_search`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_search: Vec<String>,
    /// `dns_opt`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_opt: Vec<String>,
    /// `extra_hosts`, as `name:address`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<String>,
    /// `expose`: container ports, `port/proto`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose: Vec<String>,
    /// `group_add`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_add: Vec<String>,
    /// `sysctls`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<String, String>,
    /// `tmpfs`: container path → mount options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tmpfs: BTreeMap<String, String>,
    /// `ulimits`: name → (soft, hard).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, (i64, i64)>,
    /// `logging`: driver and options.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<(String, BTreeMap<String, String>)>,
    /// `stop_signal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// `pid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<String>,
    /// `ipc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipc: Option<String>,
    /// `shm_size`, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shm_size: Option<i64>,
    /// `mem_limit` or `deploy.resources.limits.memory`, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// `mem_reservation` or `deploy.resources.reservations.memory`, bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// `memswap_limit`, bytes (`-1`: unlimited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memswap_limit: Option<i64>,
    /// `cpus` or `deploy.resources.limits.cpus`, in billionths of a CPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nano_cpus: Option<i64>,
    /// `cpu_shares`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_shares: Option<i64>,
    /// `cpuset`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpuset: Option<String>,
    /// `pids_limit` or `deploy.resources.limits.pids`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<i64>,
    /// `oom_score_adj`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_score_adj: Option<i64>,
    /// `oom_kill_disable`.
    #[serde(skip_serializing_if = "is_false")]
    pub oom_kill_disable: bool,
    /// `userns_mode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userns_mode: Option<String>,
    /// `cgroup_parent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup_parent: Option<String>,
    /// `runtime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// `cgroup`: the cgroup namespace, `host` or `private`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<String>,
    /// `storage_opt`: storage driver options.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub storage_opt: BTreeMap<String, String>,

    /// `priority` per network (those set): joined highest first.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub network_priority: BTreeMap<String, i64>,
    /// Fixed addresses per network: (IPv4, IPv6).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, (Option<String>, Option<String>)>,
    /// GPU requests (`gpus`, `deploy.resources.reservations.devices`):
    /// (driver, count, device ids, capabilities).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub gpus: Vec<(String, i64, Vec<String>, Vec<String>)>,
}

impl ContainerOptions {
    /// `(field, its JSON)` for every field that is set: the parts of the
    /// config hash these options add.
    pub fn parts(&self) -> Vec<(String, String)> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => {
                map.into_iter().map(|(k, v)| (k, v.to_string())).collect()
            }
            _ => Vec::new(),
        }
    }
}

//! The parts of a compose file around its services: top-level `networks`
//! and `volumes` (with `external` in both forms, `name`, `driver_opts`,
//! `labels`, `ipam`) and the `x-tend.host_owned` list.

use super::at::At;
use super::compose;
use super::compose_forms as forms;
use crate::model::Resource;
use std::collections::BTreeMap;

/// `x-tend.host_owned`: plain relative paths inside the stack folder.
pub(super) fn host_owned(x: Option<&At<super::raw::XTend>>, errs: &mut forms::Errs) -> Vec<String> {
    let list = x.and_then(|x| x.host_owned.as_ref());
    let mut out = Vec::new();
    for p in list.into_iter().flatten() {
        match forms::inside_folder(p.value.trim_start_matches("./")) {
            Some(rel) if !rel.is_empty() => out.push(rel),
            _ => errs.push((
                p.pos,
                format!(
                    "host_owned entry `{}` must be a path inside the stack folder",
                    p.value
                ),
            )),
        }
    }
    out
}

pub(super) fn resources(
    specs: &BTreeMap<String, Option<compose::ResourceSpec>>,
    errs: &mut forms::Errs,
) -> BTreeMap<String, Resource> {
    let mut out = BTreeMap::new();
    for (name, spec) in specs {
        let Some(s) = spec else {
            out.insert(name.clone(), Resource::default());
            continue;
        };
        let mut map = |n: &Option<super::at::RawNode>| -> BTreeMap<String, String> {
            n.as_ref()
                .map(|n| forms::key_values(&n.0, errs))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect()
        };
        let (driver_opts, labels) = (map(&s.driver_opts), map(&s.labels));
        let mut r = Resource {
            driver: s.driver.clone(),
            external: false,
            name: s.name.clone(),
            driver_opts,
            labels,
            internal: s.internal.unwrap_or(false),
            attachable: s.attachable.unwrap_or(false),
            enable_ipv6: s.enable_ipv6.unwrap_or(false),
            ..Resource::default()
        };
        if let Some(ext) = &s.external {
            match &ext.0.value {
                super::node::Value::Bool(b) => r.external = *b,
                super::node::Value::Map(_) => {
                    // Compose's legacy form `external: {name: x}`.
                    forms::check_keys(&ext.0, &["name"], errs);
                    r.external = true;
                    r.name = r
                        .name
                        .take()
                        .or_else(|| ext.0.get("name").and_then(forms::scalar));
                }
                _ => errs.push((ext.0.pos, "`external` is true, false or `{name: …}`".into())),
            }
        }
        if let Some(ipam) = &s.ipam {
            forms::check_keys(&ipam.0, &["driver", "config", "options"], errs);
            r.ipam_driver = ipam.0.get("driver").and_then(forms::scalar);
            if let Some(super::node::Value::Seq(items)) = ipam.0.get("config").map(|c| &c.value) {
                for c in items {
                    let keys = ["subnet", "gateway", "ip_range", "aux_addresses"];
                    forms::check_keys(c, &keys, errs);
                    let get = |k| c.get(k).and_then(forms::scalar);
                    r.subnets
                        .push((get("subnet"), get("gateway"), get("ip_range")));
                }
            }
        }
        out.insert(name.clone(), r);
    }
    out
}

//! Compose files: the supported subset of the Compose Specification as
//! strict serde structs (any other key is an error naming it), and the
//! conversion of one service into the normalised [`Service`].

use super::at::{At, RawNode};
use super::compose_forms::{self as forms, Errs};
use super::node::{Node, Value};
use super::raw::{Scalar, XTend};
use super::values::parse_duration;
use crate::model::{Healthcheck, Service};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Managed outside the stack.
    pub external: Option<bool>,
}

/// One service, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    image: At<String>,
    command: Option<RawNode>,
    entrypoint: Option<RawNode>,
    environment: Option<RawNode>,
    env_file: Option<RawNode>,
    ports: Option<Vec<RawNode>>,
    volumes: Option<Vec<RawNode>>,
    restart: Option<At<String>>,
    labels: Option<RawNode>,
    pub(super) depends_on: Option<RawNode>,
    healthcheck: Option<HealthSpec>,
    pub(super) networks: Option<RawNode>,
    user: Option<Scalar>,
    working_dir: Option<String>,
    init: Option<bool>,
    stop_grace_period: Option<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HealthSpec {
    test: Option<RawNode>,
    interval: Option<At<String>>,
    timeout: Option<At<String>>,
    start_period: Option<At<String>>,
    retries: Option<u32>,
    disable: Option<bool>,
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

/// Normalises one service; `dir` is the stack folder (for `env_file`).
pub fn service(spec: &ServiceSpec, dir: &str, errs: &mut Errs) -> Service {
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
    if let Err(e) = super::values::check_image(&spec.image.value) {
        errs.push((spec.image.pos, e));
    }
    let labels = spec.labels.as_ref().map(|l| forms::key_values(&l.0, errs));
    Service {
        image: spec.image.value.clone(),
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
            .map(|e| forms::string_list(&e.0, errs))
            .unwrap_or_default()
            .into_iter()
            .map(|(_, f)| PathBuf::from(format!("{dir}/{f}")))
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
            .filter_map(|v| forms::mount(&v.0, errs))
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
        healthcheck: spec.healthcheck.as_ref().and_then(|h| healthcheck(h, errs)),
        networks: spec
            .networks
            .as_ref()
            .map(|n| forms::service_networks(&n.0, errs))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, (_, aliases))| (k, aliases))
            .collect(),
        user: spec.user.as_ref().map(Scalar::text),
        working_dir: spec.working_dir.clone(),
        init: spec.init.unwrap_or(false),
        stop_grace_period: opt_duration(&spec.stop_grace_period, errs),
    }
}

/// A duration field that may be absent; a bad value is reported.
fn opt_duration(at: &Option<At<String>>, errs: &mut Errs) -> Option<std::time::Duration> {
    let at = at.as_ref()?;
    parse_duration(at).map_err(|e| errs.push((at.pos, e))).ok()
}

fn healthcheck(h: &HealthSpec, errs: &mut Errs) -> Option<Healthcheck> {
    let test = if h.disable == Some(true) {
        vec!["NONE".to_owned()]
    } else {
        let node = &h.test.as_ref()?.0;
        match &node.value {
            Value::Str(s) => vec!["CMD-SHELL".to_owned(), s.clone()],
            _ => {
                let words = forms::words(node, errs)?;
                if !matches!(
                    words.first().map(String::as_str),
                    Some("CMD" | "CMD-SHELL" | "NONE")
                ) {
                    errs.push((
                        node.pos,
                        "a healthcheck test list starts with CMD, CMD-SHELL or NONE".into(),
                    ));
                }
                words
            }
        }
    };
    Some(Healthcheck {
        test,
        interval: opt_duration(&h.interval, errs),
        timeout: opt_duration(&h.timeout, errs),
        retries: h.retries,
        start_period: opt_duration(&h.start_period, errs),
    })
}

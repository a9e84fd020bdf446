//! One compose service into the normalised [`Service`]: each key read by
//! its own form (`compose_forms`, `compose_mounts`, `compose_health`, …),
//! then the checks that need several keys (replicas with a fixed name,
//! per-network settings, `network_mode: service:X`).

use super::at::At;
use super::compose::ServiceSpec;
use super::compose_files as files;
use super::compose_forms::{self as forms, Errs, ServiceNet};
use super::raw::Scalar;
use crate::model::{DependCondition, Service};
use std::collections::BTreeMap;

/// Normalises service `name`; `dir` is the stack folder (for relative
/// paths; its name is the project's).
pub fn service(spec: &At<ServiceSpec>, name: &str, dir: &str, errs: &mut Errs) -> Service {
    let at = spec.pos;
    let spec = &spec.value;
    let build = spec
        .build
        .as_ref()
        .and_then(|b| super::compose_build::build(&b.0, dir, errs))
        .map(Box::new);
    let project = dir.rsplit('/').next().unwrap_or(dir);
    let nets = spec
        .networks
        .as_ref()
        .map(|n| forms::service_networks(&n.0, errs))
        .unwrap_or_default();
    let mut out = Service {
        image: image(spec, name, project, at, errs),
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
        env_file: env_files(spec, dir, errs),
        ports: spec
            .ports
            .iter()
            .flatten()
            .flat_map(|p| forms::port(&p.0, errs))
            .collect(),
        volumes: spec
            .volumes
            .iter()
            .flatten()
            .filter_map(|v| super::compose_mounts::mount(&v.0, errs))
            .collect(),
        restart: restart(spec, errs),
        labels: labels(spec, errs),
        depends_on: depends_on(spec, errs),
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
    across_keys(&mut out, spec, nets, errs);
    out
}

/// `restart:` checked (`no` when absent).
fn restart(spec: &ServiceSpec, errs: &mut Errs) -> String {
    let Some(at) = &spec.restart else {
        return "no".to_owned();
    };
    let restart = at.value.clone();
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
    restart
}

/// `image:` checked, or the name compose gives a built image without one.
fn image(
    spec: &ServiceSpec,
    name: &str,
    project: &str,
    at: super::node::Pos,
    errs: &mut Errs,
) -> String {
    match (&spec.image, &spec.build) {
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
    }
}

/// `env_file:` paths, relative to the stack folder.
fn env_files(spec: &ServiceSpec, dir: &str, errs: &mut Errs) -> Vec<crate::model::EnvFile> {
    spec.env_file
        .as_ref()
        .map(|e| files::env_files(&e.0, dir, errs))
        .unwrap_or_default()
        .into_iter()
        .map(|(_, f)| f)
        .collect()
}

/// `labels:` (a label without a value is empty).
fn labels(spec: &ServiceSpec, errs: &mut Errs) -> BTreeMap<String, String> {
    let labels = spec.labels.as_ref().map(|l| forms::key_values(&l.0, errs));
    labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect()
}

/// `depends_on:` with each dependency's condition.
fn depends_on(spec: &ServiceSpec, errs: &mut Errs) -> BTreeMap<String, DependCondition> {
    spec.depends_on
        .as_ref()
        .map(|d| forms::depends_on(&d.0, errs))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, (_, c))| (k, c))
        .collect()
}

/// What needs several keys: no fixed `container_name` with replicas, each
/// network's priority and addresses, and `network_mode: service:X` making
/// X start first.
fn across_keys(
    out: &mut Service,
    spec: &ServiceSpec,
    nets: BTreeMap<String, ServiceNet>,
    errs: &mut Errs,
) {
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
            .or_insert(DependCondition::ServiceStarted);
    }
}

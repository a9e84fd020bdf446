//! `tend.toml` → [`Settings`], hosts and notification rules, with defaults
//! filled in and every value checked.

use super::raw::{HostSpec, NotifySpec, TendFile};
use super::{At, Ctx, notify_url, values};
use crate::model::throttle::DEFAULT_REPEAT;
use crate::model::{Concurrency, EventKind, Host, Missed, NotifyRule, Settings, Tls};
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) const FILE: &str = "tend.toml";

/// The host stacks run on when they name none.
pub const LOCAL_HOST: &str = "local";

/// Reads `tend.toml`; a repository without one gets every default.
pub(super) fn read(cx: &mut Ctx) -> TendFile {
    if !cx.repo.exists(FILE) {
        return TendFile::default();
    }
    let Some(node) = cx.toml(FILE) else {
        return TendFile::default();
    };
    cx.typed(FILE, &node).unwrap_or_default()
}

/// Checks the settings and fills defaults.
pub(super) fn build(
    cx: &mut Ctx,
    file: TendFile,
) -> (Settings, BTreeMap<String, Host>, Vec<NotifyRule>) {
    let d = &file.defaults;
    let mut duration = |at: &Option<At<String>>, default: u64| {
        at.as_ref()
            .and_then(|a| cx.duration(FILE, a))
            .unwrap_or(Duration::from_secs(default))
    };
    let timeout = duration(&d.timeout, 3600);
    let missed_window = duration(&d.missed_window, 6 * 3600);
    let reconcile_interval = duration(&file.reconcile.interval, 300);
    let timezone = d
        .timezone
        .as_ref()
        .and_then(|tz| cx.timezone(FILE, tz))
        .unwrap_or(chrono_tz::UTC);
    let settings = Settings {
        timezone,
        timeout,
        concurrency: d.concurrency.unwrap_or(Concurrency::Forbid),
        missed: d.missed.unwrap_or(Missed::RunOnce),
        missed_window,
        reconcile_interval,
        self_heal: file.reconcile.self_heal.unwrap_or(true),
        prune: file.reconcile.prune.unwrap_or(true),
        public_url: file.public_url.as_ref().and_then(|u| public_url(cx, u)),
        vars: vars(cx, &file.vars),
        age_key: file.secrets.age_key.as_ref().map(|at| {
            cx.references(FILE, at);
            at.value.clone()
        }),
    };
    let mut hosts = BTreeMap::new();
    for (name, spec) in &file.hosts {
        if let Err(e) = values::check_name("host", name) {
            cx.error(FILE, spec.pos, e);
        }
        hosts.insert(name.clone(), host(cx, spec));
    }
    hosts.entry(LOCAL_HOST.to_owned()).or_insert_with(|| Host {
        docker: "unix:///var/run/docker.sock".into(),
        tls: None,
        vars: BTreeMap::new(),
    });
    let notify = file.notify.iter().map(|n| rule(cx, FILE, n)).collect();
    (settings, hosts, notify)
}

fn host(cx: &mut Ctx, spec: &HostSpec) -> Host {
    let docker = &spec.docker;
    let scheme = docker.split_once("://").map(|(s, _)| s);
    if !matches!(scheme, Some("unix" | "tcp" | "ssh")) {
        cx.error(
            FILE,
            docker.pos,
            format!(
                "docker address `{}` must start with unix://, tcp:// or ssh://",
                docker.value
            ),
        );
    }
    cx.references(FILE, docker);
    let tls = spec.tls.as_ref().map(|t| {
        for at in [&t.ca, &t.cert, &t.key].into_iter().flatten() {
            cx.references(FILE, at);
        }
        if scheme != Some("tcp") {
            cx.error(
                FILE,
                docker.pos,
                "`tls` is only used with a tcp:// docker address",
            );
        }
        Tls {
            ca: t.ca.as_ref().map(|a| a.value.clone()),
            cert: t.cert.as_ref().map(|a| a.value.clone()),
            key: t.key.as_ref().map(|a| a.value.clone()),
        }
    });
    Host {
        docker: docker.value.clone(),
        tls,
        vars: vars(cx, &spec.vars),
    }
}

/// `public_url`: an http(s) URL, kept without its trailing `/`.
fn public_url(cx: &mut Ctx, at: &At<String>) -> Option<String> {
    let u = at.value.trim_end_matches('/');
    let host = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    if host.is_none_or(|h| h.is_empty() || h.contains(char::is_whitespace)) {
        let msg = format!(
            "public_url `{}` must be an http:// or https:// URL, e.g. `https://tend.home.lan`",
            at.value
        );
        cx.error(FILE, at.pos, msg);
        return None;
    }
    Some(u.to_owned())
}

/// One notification rule (of `tend.toml` or a job's `notify:`), checked.
pub(super) fn rule(cx: &mut Ctx, file: &str, spec: &At<NotifySpec>) -> NotifyRule {
    let url = &spec.url;
    cx.references(file, url);
    let placeholder = blank_references(url);
    if let Err(e) = notify_url::parse(&placeholder) {
        cx.error(file, url.pos, e);
    }
    let repeat = spec
        .repeat
        .as_ref()
        .and_then(|r| cx.duration(file, r))
        .unwrap_or_else(|| DEFAULT_REPEAT.to_std().unwrap_or_default());
    let on = spec.on.clone().unwrap_or_else(|| {
        vec![
            EventKind::Failure,
            EventKind::Recovery,
            EventKind::ConfigError,
            EventKind::ApplyFailed,
            EventKind::Degraded,
        ]
    });
    NotifyRule {
        url: url.value.clone(),
        on,
        repeat,
    }
}

/// Replaces each `${…}` reference with a placeholder word so that the shape
/// of a URL can be checked without resolving secrets.
fn blank_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        match rest[start..].find('}') {
            Some(end) => {
                out.push_str("secret");
                rest = &rest[start + end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `[vars]` / `[hosts.NAME.vars]`: names as environment variable names,
/// values as written (numbers and booleans as their text).
fn vars(
    cx: &mut Ctx,
    specs: &BTreeMap<String, At<super::raw::Scalar>>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, at) in specs {
        if let Err(e) = values::check_env_name(name) {
            cx.error(FILE, at.pos, e);
        }
        out.insert(name.clone(), at.value.text());
    }
    out
}

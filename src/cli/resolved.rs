//! `tend config [DIR] [STACK]`: each stack as tend will create it — the
//! compose file interpolated and normalised, defaults filled, `env_file`s
//! merged into the environment, bind sources made absolute (relative to
//! the folder, as `tend apply` mounts them; the daemon mounts its working
//! directory instead), the container name and config hash — as YAML or
//! JSON, host secrets shown as `***`. The `docker compose config` of tend: what tend thinks a file means.

use super::out;
use anyhow::Result;
use chrono::Utc;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::process::ExitCode;
use tend::config::{self, LoadError};
use tend::plan::{ServiceTarget, Target};
use tend::reconcile::stacks::work::Layout;

/// Output format of `tend config`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ConfigFormat {
    /// YAML, like `docker compose config`.
    Yaml,
    /// JSON.
    Json,
}

/// `tend config`: exit 0 when every shown stack renders, 1 otherwise.
pub fn config(dir: &Path, stack: Option<&str>, format: ConfigFormat) -> Result<ExitCode> {
    let dir = &std::path::absolute(dir)?;
    let desired = match config::load(dir, Utc::now()) {
        Ok(d) => d,
        Err(LoadError::Invalid(report)) => return Ok(out(&report.render(), ExitCode::from(1))),
        Err(e) => return Err(e.into()),
    };
    let mut layout = Layout::Folder;
    let (targets, _) = layout.render(&desired, dir, "working-tree");
    let shown: Vec<&Target> = targets
        .iter()
        .filter(|t| stack.is_none_or(|n| t.name == n))
        .collect();
    if let (Some(name), true) = (stack, shown.is_empty()) {
        let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        let msg = format!("no stack named `{name}` (stacks: {})", known.join(", "));
        return Ok(out(&msg, ExitCode::from(1)));
    }
    let failed = shown.iter().any(|t| t.error.is_some());
    let stacks: Map<String, Value> = shown
        .iter()
        .map(|t| (t.name.clone(), stack_value(t)))
        .collect();
    let doc = json!({ "stacks": stacks });
    let text = match format {
        ConfigFormat::Json => serde_json::to_string_pretty(&doc)?,
        ConfigFormat::Yaml => serde_saphyr::to_string(&doc)?,
    };
    let code = if failed { 1 } else { 0 };
    Ok(out(text.trim_end(), ExitCode::from(code)))
}

fn stack_value(t: &Target) -> Value {
    let services: Map<String, Value> = t
        .services
        .iter()
        .map(|(name, s)| (name.clone(), service_value(t, name, s)))
        .collect();
    let mut v = json!({
        "host": t.host,
        "state": tend::model::word(&t.state),
        "services": services,
        "networks": t.networks,
        "volumes": t.volumes,
    });
    if let Some(e) = &t.error {
        v["error"] = json!(e);
    }
    tidy(&mut v);
    v
}

/// The service's normalised spec with what rendering adds: the container
/// name, the environment as the container gets it, the config hash.
fn service_value(t: &Target, name: &str, s: &ServiceTarget) -> Value {
    let mut v = serde_json::to_value(&s.spec).unwrap_or(Value::Null);
    let Value::Object(fields) = &mut v else {
        return v;
    };
    let options = fields.remove("options");
    if let Some(Value::Object(options)) = options {
        fields.extend(options);
    }
    fields.remove("env_file");
    let env: Map<String, Value> = s
        .env
        .iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            (
                k.to_owned(),
                json!(tend::model::secret::redact(v, &s.secrets)),
            )
        })
        .collect();
    fields.insert("environment".into(), Value::Object(env));
    fields.insert("container_name".into(), json!(t.container_of(name)));
    fields.insert("config_hash".into(), json!(s.hash));
    tidy(&mut v);
    v
}

/// Durations as compose writes them (`1m30s`), and unset values, empty
/// lists and maps left out (they say nothing), at every depth.
fn tidy(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let (2, Some(secs), Some(nanos)) = (
                m.len(),
                m.get("secs").and_then(Value::as_u64),
                m.get("nanos").and_then(Value::as_u64),
            ) {
                *v = json!(duration(secs, nanos));
                return;
            }
            m.values_mut().for_each(tidy);
            m.retain(|_, v| !matches!(v, Value::Null) && v != &json!([]) && v != &json!({}));
        }
        Value::Array(items) => items.iter_mut().for_each(tidy),
        _ => {}
    }
}

fn duration(secs: u64, nanos: u64) -> String {
    let mut out = String::new();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    for (n, unit) in [(h, "h"), (m, "m"), (s, "s")] {
        if n > 0 {
            out += &format!("{n}{unit}");
        }
    }
    if nanos > 0 {
        out += &format!("{}ms", nanos / 1_000_000);
    }
    if out.is_empty() { "0s".into() } else { out }
}

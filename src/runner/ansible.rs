//! Playbook jobs: the `ansible-playbook` command line, the private
//! environment Ansible gets, tend's recap callback plugin (shipped inside
//! the binary), and what ansible's exit codes mean.

use crate::model::{HostRecap, PlaybookJob};
use std::path::Path;

/// The callback plugin that writes per-host recaps as JSON.
const RECAP_PLUGIN: &str = include_str!("tend_recap.py");

/// Arguments after the program name.
pub fn args(job: &PlaybookJob) -> Vec<String> {
    let mut args = vec![job.playbook.display().to_string()];
    if let Some(inv) = &job.inventory {
        args.extend(["-i".into(), inv.display().to_string()]);
    }
    if let Some(limit) = &job.limit {
        args.extend(["--limit".into(), limit.clone()]);
    }
    if !job.tags.is_empty() {
        args.extend(["--tags".into(), job.tags.join(",")]);
    }
    if !job.vars.is_empty() {
        let json = serde_json::Value::Object(job.vars.clone()).to_string();
        args.extend(["-e".into(), json]);
    }
    if job.check {
        args.push("--check".into());
    }
    args
}

/// Writes the plugin into `work` (the run's private folder) and returns the
/// environment that makes Ansible keep its home and temp files under
/// `shared` (tend's own folder, reused across runs so caches stay warm),
/// load the plugin, and fail on an unparsable inventory.
pub fn environment(work: &Path, shared: &Path) -> std::io::Result<Vec<(String, String)>> {
    let plugins = work.join("callback_plugins");
    std::fs::create_dir_all(&plugins)?;
    std::fs::write(plugins.join("tend_recap.py"), RECAP_PLUGIN)?;
    let shared_dir = |p: &str| shared.join(p).display().to_string();
    Ok([
        ("ANSIBLE_HOME", shared_dir("home")),
        ("ANSIBLE_LOCAL_TEMP", shared_dir("tmp")),
        ("ANSIBLE_REMOTE_TEMP", "/tmp/.ansible-tend".to_owned()),
        ("ANSIBLE_CALLBACK_PLUGINS", plugins.display().to_string()),
        ("ANSIBLE_CALLBACKS_ENABLED", "tend_recap".to_owned()),
        ("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true".to_owned()),
        ("ANSIBLE_RETRY_FILES_ENABLED", "false".to_owned()),
        ("ANSIBLE_NOCOLOR", "1".to_owned()),
        ("ANSIBLE_SSH_ARGS", "-o ControlMaster=no".to_owned()),
        ("PYTHONUNBUFFERED", "1".to_owned()),
        (
            "TEND_RECAP_FILE",
            work.join("recap.json").display().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect())
}

/// The recap the plugin wrote, if it did.
pub fn recap(work: &Path) -> Vec<HostRecap> {
    std::fs::read(work.join("recap.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// What an `ansible-playbook` exit code means.
pub fn explain(code: i32) -> Option<&'static str> {
    Some(match code {
        0 => return None,
        1 => "ansible-playbook error (missing playbook, or --limit matched no host)",
        2 => "a task failed",
        3 => "a host was unreachable",
        4 => "a host was unreachable, or the playbook could not be parsed",
        5 => "bad ansible-playbook options",
        99 => "ansible-playbook was interrupted",
        250 => "unexpected ansible-playbook error",
        _ => "ansible-playbook failed",
    })
}

/// How to get ansible-playbook, for the log of a run that could not start it.
pub const INSTALL_HINT: &str = "ansible-playbook was not found: install ansible-core \
(python3 -m venv /opt/ansible && /opt/ansible/bin/pip install ansible-core) and put it on \
PATH, or give tend --ansible-playbook PATH";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let mut vars = serde_json::Map::new();
        vars.insert("msg".into(), serde_json::json!("two words"));
        let job = PlaybookJob {
            vault_password: None,
            vault_ids: Default::default(),
            playbook: "playbooks/site.yml".into(),
            inventory: Some("inventory/hosts.yml".into()),
            limit: Some("nas".into()),
            tags: vec!["a".into(), "b".into()],
            vars,
            check: true,
        };
        assert_eq!(
            args(&job),
            [
                "playbooks/site.yml",
                "-i",
                "inventory/hosts.yml",
                "--limit",
                "nas",
                "--tags",
                "a,b",
                "-e",
                r#"{"msg":"two words"}"#,
                "--check"
            ]
        );
    }
}

//! What a run is given that must stay secret: its environment (an
//! `env_file` read first — a SOPS one decrypted with the host's age
//! identities —, then `env:` with `${env:…}`/`${file:…}` resolved now) and
//! a playbook's vault passwords, written as 0600 files in the run's private
//! folder (removed with it after the run) and passed as `--vault-id
//! label@FILE`, never on the command line or in the environment. Every
//! secret value joins the log's redaction set.

use super::RunSpec;
use crate::model::{Job, JobKind};
use std::path::Path;

/// A job's environment with secrets resolved, the secret values, and the
/// extra `ansible-playbook` arguments (vault ids).
pub struct ResolvedEnv {
    /// Variables to set.
    pub vars: Vec<(String, String)>,
    /// Values that came from host secrets or encrypted files: redacted
    /// from the log.
    pub secrets: Vec<String>,
    /// `--vault-id label@FILE` pairs of a playbook job.
    pub vault_args: Vec<String>,
}

/// Resolves everything secret a run of `spec` needs.
pub fn prepare(spec: &RunSpec) -> Result<ResolvedEnv, String> {
    let mut env = resolve_env(&spec.job, &spec.dir)?;
    if let JobKind::Playbook(p) = &spec.job.kind {
        let default = p.vault_password.iter().map(|r| ("default", r));
        let labelled = p.vault_ids.iter().map(|(l, r)| (l.as_str(), r));
        let all: Vec<(&str, &String)> = default.chain(labelled).collect();
        if !all.is_empty() {
            let dir = spec.work.join("vault");
            private_dir(&dir).map_err(|e| format!("cannot prepare {}: {e}", dir.display()))?;
            for (label, reference) in all {
                let (password, found) =
                    super::expand(reference).map_err(|e| format!("vault id {label}: {e}"))?;
                let file = dir.join(label);
                private_file(&file, &password)
                    .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
                env.secrets.extend(found);
                env.vault_args.push("--vault-id".into());
                env.vault_args.push(format!("{label}@{}", file.display()));
            }
        }
    }
    Ok(env)
}

/// The job's `env_file` (in the snapshot `dir`), then its `env:`, resolved.
pub fn resolve_env(job: &Job, dir: &Path) -> Result<ResolvedEnv, String> {
    let mut vars = Vec::new();
    let mut secrets = Vec::new();
    if let Some(file) = &job.env_file {
        let shown = file.display();
        let text = std::fs::read_to_string(dir.join(file))
            .map_err(|e| format!("env_file {shown}: {e}"))?;
        match crate::sops::detect(&file.to_string_lossy(), &text) {
            Some(sealed) => {
                let ring = crate::sops::Keyring::host(job.age_key.as_deref())
                    .map_err(|e| format!("env_file {shown}: {e}"))?;
                let opened = sealed
                    .and_then(|s| s.open(&ring))
                    .map_err(|e| format!("env_file {shown}: {e}"))?;
                for e in opened.entries {
                    if e.encrypted {
                        secrets.push(e.value.clone());
                    }
                    vars.push((e.name, e.value));
                }
            }
            None => {
                let pairs = crate::config::dotenv::parse(&text).map_err(|(pos, e)| {
                    format!("env_file {shown}:{}:{}: {e}", pos.line, pos.column)
                })?;
                vars.extend(pairs);
            }
        }
    }
    for (name, value) in &job.env {
        let (out, found) = super::expand(value).map_err(|e| format!("env {name}: {e}"))?;
        secrets.extend(found);
        vars.retain(|(k, _)| k != name);
        vars.push((name.clone(), out));
    }
    Ok(ResolvedEnv {
        vars,
        secrets,
        vault_args: Vec::new(),
    })
}

/// Whether a line of a playbook's output says vault data could not be
/// decrypted (ansible says the same for no password and a wrong one).
pub fn vault_hint(line: &str) -> Option<&'static str> {
    (line.contains("no vault secrets") || line.contains("Decryption failed")).then_some("vault")
}

/// What to tell the user when a run of `job` could not decrypt vault data.
pub fn vault_advice(job: &Job) -> &'static str {
    match &job.kind {
        JobKind::Playbook(p) if p.vault_password.is_none() && p.vault_ids.is_empty() => {
            "the playbook reads ansible-vault data: set the job's `vault_password` (or `vault_ids`)"
        }
        _ => {
            "ansible-vault could not decrypt with the job's `vault_password` / `vault_ids`: wrong password or vault id?"
        }
    }
}

fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn private_file(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")
}

/// Removes the run folders a crash left under `work_root` (with any vault
/// password files in them): at start no run is in progress. Returns how
/// many were removed.
pub fn remove_leftovers(work_root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(work_root) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("run-"))
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

//! Ansible vault content a playbook job would meet without a password: a
//! vault-encrypted file (`$ANSIBLE_VAULT;…`) or an inline `!vault` value in
//! the playbook, its inventory, or the `group_vars`/`host_vars`/`vars`
//! folders beside them. A warning, not an error: the password may come from
//! an `ansible.cfg` the user manages.

use super::Ctx;
use super::node::Pos;
use crate::model::PlaybookJob;
use std::path::Path;

/// Most files looked at for one job.
const MAX_FILES: usize = 500;

/// Notes each vault file `job` (with no `vault_password`/`vault_ids`) uses.
pub(super) fn notice(cx: &mut Ctx, job: &str, p: &PlaybookJob) {
    if p.vault_password.is_some() || !p.vault_ids.is_empty() {
        return;
    }
    let mut files = Vec::new();
    let mut roots: Vec<String> = vec![rel(&p.playbook)];
    let beside = |file: &Path| {
        let dir = file.parent().map(rel).unwrap_or_default();
        ["group_vars", "host_vars", "vars"].map(|d| join(&dir, d))
    };
    roots.extend(beside(&p.playbook));
    roots.extend(vars_files(cx, &p.playbook));
    if let Some(inv) = &p.inventory {
        roots.push(rel(inv));
        let dir = if cx.repo.is_dir(&rel(inv)) {
            inv.join("x")
        } else {
            inv.clone()
        };
        roots.extend(beside(&dir));
    }
    for root in roots {
        walk(cx, &root, 0, &mut files);
    }
    files.sort();
    files.dedup();
    for file in files {
        cx.report.note(
            &file,
            Pos::START,
            format!(
                "holds ansible-vault encrypted data, and job `{job}` has no `vault_password` \
                 or `vault_ids` (fine if an ansible.cfg you manage gives the password)"
            ),
        );
    }
}

/// The `vars_files` the plays of `playbook` name (relative to its folder;
/// templated names are skipped).
fn vars_files(cx: &Ctx, playbook: &Path) -> Vec<String> {
    use super::node::Value;
    let dir = playbook.parent().map(rel).unwrap_or_default();
    let Ok(text) = cx.repo.read(&rel(playbook)) else {
        return Vec::new();
    };
    let Ok(root) = super::node::parse_yaml(&text) else {
        return Vec::new();
    };
    let Value::Seq(plays) = &root.value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for play in plays {
        if let Some(Value::Seq(files)) = play.get("vars_files").map(|n| &n.value) {
            for f in files.iter().filter_map(|f| f.as_str()) {
                if !f.contains("{{") && !f.starts_with('/') {
                    out.extend(crate::model::inside_folder(&join(&dir, f)));
                }
            }
        }
    }
    out
}

fn walk(cx: &Ctx, rel: &str, depth: usize, out: &mut Vec<String>) {
    if depth > 6 || out.len() >= MAX_FILES || rel.is_empty() || !cx.repo.exists(rel) {
        return;
    }
    if cx.repo.is_dir(rel) {
        for name in cx.repo.list(rel) {
            walk(cx, &join(rel, &name), depth + 1, out);
        }
    } else if let Ok(text) = cx.repo.read(rel)
        && is_vaulted(&text)
    {
        out.push(rel.to_owned());
    }
}

/// True when `text` is a vault file or holds an inline `!vault` value.
pub fn is_vaulted(text: &str) -> bool {
    text.starts_with("$ANSIBLE_VAULT;")
        || text.lines().any(|l| {
            l.contains("!vault |") || l.contains("!vault|") || l.trim_end().ends_with("!vault")
        })
}

fn rel(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vault_files_and_inline_values_are_recognised() {
        assert!(super::is_vaulted("$ANSIBLE_VAULT;1.1;AES256\n6134\n"));
        assert!(super::is_vaulted(
            "db_pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n"
        ));
        assert!(!super::is_vaulted("db_pw: plain # not !vaulted\n"));
    }
}

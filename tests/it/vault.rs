//! ansible-vault with the real tools: a vars file encrypted by
//! `ansible-vault encrypt` and an inline value from `encrypt_string`, read
//! by real `ansible-playbook` runs with the job's `vault_password` or
//! `vault_ids` (private files, never on the command line); without a
//! password the run fails with ansible's message and a hint naming the job
//! key, a wrong one says so, and `tend check` warns about the job that has
//! vault data and no password.

use crate::ansible::{ansible_playbook, start_on};
use crate::support::{Dir, fixture, tend};
use std::process::Command;

const PW: &str = "vault-pw-Lq93xZ";
const PROD_PW: &str = "prod-pw-Vn28Kd";
const DB: &str = "db-secret-Tr71Wq";
const API: &str = "api-key-Hs55Mp";

fn vault(args: &[&str], cwd: &std::path::Path) -> String {
    let bin = ansible_playbook().with_file_name("ansible-vault");
    let out = Command::new(&bin)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("ansible-vault (run scripts/setup)");
    assert!(out.status.success(), "ansible-vault {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn repo(keys: &Dir) -> Dir {
    let repo = Dir::copy_of(&fixture("ansible-repo"));
    let pw = keys.write("vault.pw", format!("{PW}\n"));
    let prod = keys.write("prod.pw", format!("{PROD_PW}\n"));
    let wrong = keys.write("wrong.pw", "not-it\n");
    let secret = repo.write("vault/secret.yml", format!("db_password: {DB}\n"));
    let pw_file = pw.to_str().unwrap();
    vault(
        &[
            "encrypt",
            "--vault-password-file",
            pw_file,
            secret.to_str().unwrap(),
        ],
        repo.path(),
    );
    let inline = vault(
        &[
            "encrypt_string",
            "--vault-password-file",
            pw_file,
            "--name",
            "api_key",
            API,
        ],
        repo.path(),
    );
    repo.write("playbooks/group_vars/all.yml", inline);
    let prod_file = repo.write("vault/prod.yml", format!("db_password: {DB}\n"));
    vault(
        &[
            "encrypt",
            "--vault-id",
            &format!("prod@{}", prod.display()),
            prod_file.to_str().unwrap(),
        ],
        repo.path(),
    );
    let play = |vars: &str| {
        format!(
            "- hosts: all\n  gather_facts: false\n  vars_files: [../vault/{vars}]\n  tasks:\n    - ansible.builtin.assert:\n        that: [\"db_password == '{DB}'\"]\n        quiet: true\n"
        )
    };
    repo.write("playbooks/vault.yml", play("secret.yml") + &format!("    - ansible.builtin.assert:\n        that: [\"api_key == '{API}'\"]\n        quiet: true\n"));
    repo.write("playbooks/prod.yml", play("prod.yml"));
    let job = |name: &str, playbook: &str, extra: String| {
        format!(
            "  - name: {name}\n    playbook: playbooks/{playbook}\n    inventory: inventory/local.yml\n{extra}"
        )
    };
    let jobs = [
        job(
            "vault-ok",
            "vault.yml",
            format!("    vault_password: \"${{file:{}}}\"\n", pw.display()),
        ),
        job(
            "vault-ids",
            "prod.yml",
            format!(
                "    vault_ids: {{ prod: \"${{file:{}}}\" }}\n",
                prod.display()
            ),
        ),
        job("vault-missing", "vault.yml", String::new()),
        job(
            "vault-wrong",
            "vault.yml",
            format!("    vault_password: \"${{file:{}}}\"\n", wrong.display()),
        ),
    ];
    repo.write("jobs/vault.yaml", format!("jobs:\n{}", jobs.concat()));
    repo
}

#[test]
fn vault_passwords_open_vault_files_and_a_missing_one_is_named() {
    let keys = Dir::new();
    let repo = repo(&keys);

    let check = tend(repo.path(), &["check", "."]).expect_code(0);
    for file in ["vault/secret.yml", "playbooks/group_vars/all.yml"] {
        assert!(
            check.stdout.contains(&format!(
                "{file}:1:1: warning: holds ansible-vault encrypted data, and job `vault-missing` has no `vault_password`"
            )),
            "{}",
            check.stdout
        );
    }
    assert!(!check.stdout.contains("job `vault-ok`"), "{}", check.stdout);

    let a = start_on(repo, &[]);
    let (run, log) = a.run("vault-ok");
    assert_eq!(run["status"], "succeeded", "{run:#}\n{log}");
    assert!(log.contains("--vault-id default@"), "{log}");
    let (run, log) = a.run("vault-ids");
    assert_eq!(run["status"], "succeeded", "{run:#}\n{log}");

    let (run, log) = a.run("vault-missing");
    assert_eq!(run["status"], "failed", "{log}");
    assert!(
        log.contains("no vault secrets"),
        "ansible's own message: {log}"
    );
    let reason = run["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("set the job's `vault_password`"),
        "{reason}"
    );

    let (run, log) = a.run("vault-wrong");
    assert_eq!(run["status"], "failed", "{log}");
    let reason = run["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("could not decrypt"), "{reason}\n{log}");

    for (what, text) in [("log", &log), ("run", &run.to_string())] {
        for secret in [PW, PROD_PW, DB, API] {
            assert!(!text.contains(secret), "{what} shows a secret: {text}");
        }
    }
}

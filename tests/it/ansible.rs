//! Playbook jobs with the real `ansible-playbook` (ansible-core in the venv
//! that scripts/setup installs): success with a per-host recap, a failing
//! task (exit 2), a secret printed by the playbook (redacted), 5 MB of
//! output (capped), a timeout, `--limit` matching no host, and a playbook
//! over ssh to a loopback sshd.

use crate::support::procs::Tend;
use crate::support::{Dir, fixture};
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

pub(crate) fn ansible_playbook() -> PathBuf {
    let path =
        crate::support::setup_cache("TEND_TEST_ANSIBLE", "ansible-venv/bin/ansible-playbook");
    assert!(
        path.exists(),
        "ansible-playbook not found at {}: run scripts/setup (installs ansible-core in a venv)",
        path.display()
    );
    path
}

pub(crate) struct Ansible {
    tend: Tend,
    _data: Dir,
    _repo: Dir,
}

fn start() -> Ansible {
    start_on(
        Dir::copy_of(&fixture("ansible-repo")),
        &[("TEND_TEST_TOKEN", "tok-9f8e7d6c5b")],
    )
}

/// tend following the folder `repo`, with manual runs on (token `tok`)
/// and the venv's ansible-playbook.
pub(crate) fn start_on(repo: Dir, env: &[(&str, &str)]) -> Ansible {
    let data = Dir::new();
    data.write("token", "tok\n");
    let (token, data_dir, ansible) = (
        data.path().join("token"),
        data.path().join("data"),
        ansible_playbook(),
    );
    let args = [
        "--source",
        repo.path().to_str().unwrap(),
        "--data",
        data_dir.to_str().unwrap(),
        "--api-token-file",
        token.to_str().unwrap(),
        "--ansible-playbook",
        ansible.to_str().unwrap(),
    ];
    let tend = Tend::start_with_env(data.path(), &args, &data.path().join("tend.log"), env);
    tend.wait_status(Duration::from_secs(20), "applied", |s| {
        !s["source"]["applied_commit"].is_null()
    });
    Ansible {
        tend,
        _data: data,
        _repo: repo,
    }
}

impl Ansible {
    /// Triggers `job` and waits for its run to end; returns the run and its log.
    pub(crate) fn run(&self, job: &str) -> (serde_json::Value, String) {
        self.tend.run_job(job, WAIT)
    }
}

#[test]
fn playbook_runs_recaps_failures_secrets_caps_and_timeouts() {
    let a = start();
    let (run, log) = a.run("ok");
    assert_eq!(run["status"], "succeeded", "{run:#}\n{log}");
    assert_eq!(run["exit_code"], 0);
    let recap = &run["recap"][0];
    assert_eq!(
        (
            recap["host"].as_str(),
            recap["ok"].as_u64(),
            recap["changed"].as_u64()
        ),
        (Some("localhost"), Some(2), Some(1)),
        "{run:#}"
    );
    assert!(log.contains("hello from tend tests"), "{log}");

    let (run, log) = a.run("fail");
    assert_eq!(
        (run["status"].as_str(), run["exit_code"].as_i64()),
        (Some("failed"), Some(2)),
        "{log}"
    );
    assert_eq!(run["reason"], "a task failed");
    assert_eq!(run["recap"][0]["failed"], 1);

    let (run, log) = a.run("secret");
    assert_eq!(run["status"], "succeeded", "{log}");
    assert!(log.contains("the token is ***"), "{log}");
    assert!(!log.contains("tok-9f8e7d6c5b"), "secret leaked");

    let (run, log) = a.run("big");
    assert_eq!(run["status"], "succeeded");
    assert!(log.len() < 1_200_000, "log not capped: {} bytes", log.len());
    assert!(log.contains("bytes cut by tend"), "no cut marker");
    assert!(log.contains("ok=1"), "the tail (recap) is kept");

    let (run, log) = a.run("slow");
    assert_eq!(run["status"], "timed_out", "{log}");
    assert!(
        run["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 3s")
    );

    let (run, log) = a.run("missing-inventory");
    assert_eq!(run["status"], "failed", "{log}");
}

#[test]
fn playbook_over_ssh_to_a_loopback_host() {
    use crate::support::procs::{free_port, keygen, sshd};
    let keys = Dir::new();
    let key = keys.path().join("id_ed25519");
    keygen(&key);
    let port = free_port();
    let _sshd = sshd(keys.path(), port, &key.with_extension("pub"));
    let repo = Dir::new();
    repo.write(
        "inventory/hosts.yml",
        format!(
            "all:\n  hosts:\n    loopback:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n      ansible_user: root\n      ansible_ssh_private_key_file: {}\n      ansible_python_interpreter: /usr/bin/python3\n      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null\n",
            key.display()
        ),
    );
    repo.write("playbooks/ping.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n    - ansible.builtin.command: uname -n\n");
    repo.write("jobs/j.yaml", "jobs:\n  - name: ssh\n    playbook: playbooks/ping.yml\n    inventory: inventory/hosts.yml\n");
    let a = start_on(repo, &[]);
    let (run, log) = a.run("ssh");
    assert_eq!(run["status"], "succeeded", "{run:#}\n{log}");
    assert_eq!(run["recap"][0]["host"], "loopback");
    assert_eq!(run["recap"][0]["unreachable"], 0);
    assert_eq!(run["recap"][0]["changed"], 1, "{log}");
}

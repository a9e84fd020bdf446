//! A seeded secret scanned for across everything the daemon serves or
//! writes: a stack whose SOPS `.env` feeds a container and a job whose SOPS
//! `env_file` feeds a failing command (so an alert goes out with its log),
//! then the status page, stack and run pages, the JSON API, the events,
//! the metrics, the run log, the alerts the recorder got, the daemon's own
//! log and `tend config` — zero hits, while the container and the run did
//! get the values.

use crate::support::age_keys::age_keygen;
use crate::support::docker::{docker, shared_for};
use crate::support::procs::{Tend, wait_until};
use crate::support::recorder::Recorder;
use crate::support::{Dir, http, sops_seal, tend};
use std::time::Duration;

const PW: &str = "seeded-Pw-8hQ2vX";
const TOKEN: &str = "seeded-Tok-3Jm9cR";

#[test]
fn decrypted_values_reach_containers_and_runs_and_nothing_tend_shows() {
    let (host, _clean) = shared_for(&["leak"]);
    let keys = Dir::new();
    let key = age_keygen(keys.path(), "age.key");
    let rec = Recorder::start(vec![]);
    let repo = Dir::new();
    repo.write(
        "tend.toml",
        format!(
            "[secrets]\nage_key = \"${{file:{}}}\"\n\n[hosts.local]\ndocker = \"{host}\"\n\n[[notify]]\nurl = \"json://{}/hook\"\n",
            key.file.display(),
            rec.addr
        ),
    );
    repo.write(
        "stacks/leak/compose.yaml",
        "services:\n  app:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n    environment: { DB_PASSWORD: \"${DB_PASSWORD}\" }\n",
    );
    repo.write(
        "stacks/leak/.env",
        sops_seal::dotenv(&[("DB_PASSWORD", PW)], &[&key.recipient]),
    );
    repo.write(
        "jobs/job.env",
        sops_seal::dotenv(&[("TOKEN", TOKEN)], &[&key.recipient]),
    );
    repo.write(
        "jobs/leaky.yaml",
        "jobs:\n  - name: leaky\n    env_file: jobs/job.env\n    command: [\"sh\", \"-c\", \"echo token=$TOKEN; exit 3\"]\n",
    );
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("leak");
    let got = docker(
        &host,
        &["exec", "leak-app-1", "sh", "-c", "echo $DB_PASSWORD"],
    );
    assert_eq!(got, PW);

    let (run, log) = t.run_job("leaky", Duration::from_secs(30));
    assert_eq!(run["status"], "failed", "{run:#}\n{log}");
    assert!(
        log.contains("token=***"),
        "the run got the value, redacted: {log}"
    );
    let alerted = wait_until(Duration::from_secs(20), || !rec.seen().is_empty());
    assert!(alerted, "no alert reached the recorder:\n{}", t.log_text());

    let id = run["id"].as_u64().unwrap();
    let mut shown = String::new();
    for path in [
        "/".to_owned(),
        "/stacks/leak".into(),
        "/stacks/local/leak/app".into(),
        "/stacks/local/leak/config".into(),
        format!("/runs/{id}"),
        "/jobs/leaky".into(),
        "/events".into(),
        "/metrics".into(),
        "/api/v1/status".into(),
        "/api/v1/stacks".into(),
        "/api/v1/jobs".into(),
        "/api/v1/runs".into(),
        format!("/api/v1/runs/{id}"),
        format!("/api/v1/runs/{id}/log"),
        "/api/v1/events?limit=100".into(),
        "/api/v1/notifications".into(),
    ] {
        let r = http::get(t.addr, &path);
        shown += &format!("\n== {path} ({})\n{}", r.status, r.body);
    }
    for seen in rec.seen() {
        shown += &format!("\n== alert\n{}", seen.body);
    }
    shown += &t.log_text();
    let config = tend(repo.path(), &["config", "."]);
    shown += &config.stdout;
    shown += &config.stderr;
    assert!(
        shown.contains("== /stacks/leak (200)"),
        "the stack page exists: {shown}"
    );
    for secret in [PW, TOKEN] {
        assert!(!shown.contains(secret), "tend showed a secret:\n{shown}");
    }
}

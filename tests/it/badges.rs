//! Badges from a running daemon: a job's newest run and a stack's sync
//! state as shields-style SVGs, cached a few seconds, 404 for unknown names.

use crate::runs::daemon;
use crate::support::{Dir, http};
use std::time::Duration;

#[test]
fn badges_show_each_job_and_stack_as_text_on_colour() {
    let folder = Dir::new();
    folder.write(
        "tend.toml",
        "[hosts.local]\ndocker = \"unix:///nonexistent/tend-badge.sock\"\n",
    );
    folder.write(
        "jobs/j.yaml",
        "jobs:
  - { name: good, schedule: '* * * * * *', command: ['true'] }
  - { name: bad, schedule: '* * * * * *', command: ['false'] }
  - { name: idle, command: ['true'] }
",
    );
    folder.write(
        "stacks/app/compose.yaml",
        "services:\n  web:\n    image: busybox\n",
    );
    let data = Dir::new();
    let tend = daemon(&folder, &data, &[], &[]);
    tend.wait_runs(Duration::from_secs(20), "a run of each", "limit=50", |r| {
        ["good", "bad"].iter().all(|j| {
            r.iter()
                .any(|r| r["job"] == *j && r["finished_at"].is_string())
        })
    });
    let badge = |path: &str| http::get(tend.addr, path);
    for (path, text, colour) in [
        ("/badge/jobs/good.svg", "good: passing", "#4c1"),
        ("/badge/jobs/bad.svg", "bad: failing", "#e05d44"),
        ("/badge/jobs/idle.svg", "idle: no runs", "#9f9f9f"),
    ] {
        let r = badge(path);
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.body.starts_with("<svg") && r.body.contains(&format!("<title>{text}</title>")),
            "{path}: {}",
            r.body
        );
        assert!(r.body.contains(colour), "{path}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("image/svg+xml; charset=utf-8")
        );
        assert_eq!(
            r.header("cache-control").as_deref(),
            Some("max-age=5, must-revalidate")
        );
    }
    let ok = crate::support::procs::wait_until(Duration::from_secs(20), || {
        badge("/badge/stacks/app.svg")
            .body
            .contains("<title>app: unknown</title>")
    });
    assert!(
        ok,
        "the stack's badge: {}",
        badge("/badge/stacks/app.svg").body
    );
    for path in [
        "/badge/jobs/nope.svg",
        "/badge/stacks/nope.svg",
        "/badge/jobs/good.png",
    ] {
        assert_eq!(badge(path).status, 404, "{path}");
    }
}

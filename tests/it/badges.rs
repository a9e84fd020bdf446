//! Health at a glance from a running daemon: badges (a job's newest run and
//! a stack's sync state as shields-style SVGs, cached a few seconds, 404 for
//! unknown names) and the summary line, title and favicon of every page,
//! which follow a job failing and recovering.

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

#[test]
fn the_summary_title_and_favicon_follow_a_job_failing_and_recovering() {
    let folder = Dir::new();
    let data = Dir::new();
    let flag = data.path().join("fail-now");
    folder.write(
        "jobs/j.yaml",
        format!(
            "jobs:\n  - {{ name: flip, schedule: '* * * * * *', command: [sh, -c, 'test ! -e {}'] }}\n  - {{ name: calm, command: ['true'] }}\n",
            flag.display()
        ),
    );
    let tend = daemon(&folder, &data, &[], &[]);
    let health = || http::get(tend.addr, "/api/v1/health").json();
    let within = |what: &str, ok: bool| {
        let start = std::time::Instant::now();
        let seen =
            crate::support::procs::wait_until(Duration::from_secs(10), || health()["ok"] == ok);
        assert!(seen, "{what}: {}", health());
        start.elapsed()
    };
    within("healthy at first", true);
    assert_eq!(health()["line"], "All 2 jobs and 0 stacks healthy");
    for page in ["/", "/jobs/calm", "/events"] {
        let html = http::get(tend.addr, page).body;
        assert!(
            html.contains("All 2 jobs and 0 stacks healthy"),
            "{page}: {html}"
        );
        assert!(html.contains("href=\"/favicon-ok.svg\""), "{page}");
        assert!(!html.contains("failing ·"), "{page}");
    }
    std::fs::write(&flag, "").unwrap();
    let took = within("failing", false);
    assert!(took < Duration::from_secs(3), "noticed in {took:?}");
    assert_eq!(health()["line"], "1 failing: flip");
    let html = http::get(tend.addr, "/jobs/calm").body;
    assert!(
        html.contains("<title>✖ 1 failing · calm · tend</title>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"/favicon-bad.svg\"") && html.contains("1 failing: flip"),
        "{html}"
    );
    std::fs::remove_file(&flag).unwrap();
    let took = within("recovered", true);
    assert!(
        took < Duration::from_secs(3),
        "recovery noticed in {took:?}"
    );
    let icon = http::get(tend.addr, "/favicon-bad.svg");
    assert!(
        icon.status == 200 && icon.body.starts_with("<svg"),
        "{}",
        icon.body
    );
}

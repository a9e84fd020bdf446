//! The dashboard in a real browser: headless Chromium loads the page of a
//! daemon with real runs and a real stack, the DOM is checked, and a
//! screenshot is saved under the target dir (docs/dashboard.png is a copy).

use crate::stacks::repo;
use crate::support::Dir;
use crate::support::docker::shared_for;
use crate::support::procs::Tend;
use std::process::Command;
use std::time::Duration;

/// Runs headless Chromium with `args` and the page `url`; returns stdout.
fn chromium(args: &[&str], url: &str) -> String {
    let profile = Dir::new();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(url)
        .output()
        .expect("chromium is missing: run scripts/setup (installs it)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn dashboard_in_a_real_browser() {
    let (host, _clean) = shared_for(&["shop"]);
    let repo = repo(&host, false);
    repo.write(
        "stacks/shop/compose.yaml",
        "services:\n  web:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n    init: true\n",
    );
    repo.write(
        "jobs/j.yaml",
        "jobs:\n  - name: backup\n    command: [\"true\"]\n  - name: flaky\n    command: [\"false\"]\n  - name: shout\n    command: [sh, -c, 'printf \"\\033[31m<script>alert(1)</script>\\033[0m\\n\"']\n  - name: weekly\n    schedule: \"0 4 * * MON\"\n    command: [\"true\"]\n  - name: hourly\n    schedule: \"0 * * * *\"\n    command: [\"true\"]\n",
    );
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_status(Duration::from_secs(20), "applied", |s| {
        !s["source"]["applied_commit"].is_null()
    });
    let mut ids = std::collections::HashMap::new();
    for job in ["backup", "flaky", "shout"] {
        let (run, _) = t.run_job(job, Duration::from_secs(20));
        ids.insert(job, run["id"].as_u64().unwrap());
    }
    let mut stack = serde_json::Value::Null;
    let synced = crate::support::procs::wait_until(Duration::from_secs(20), || {
        stack = t.stack("shop");
        stack["sync"] == "synced"
    });
    assert!(synced, "{stack:#}");
    let url = format!("http://{}/", t.addr);
    let dom = chromium(&["--dump-dom"], &url);
    for want in [
        "<html lang=\"en\" data-js=\"on\">",
        "<td><a href=\"/jobs/backup\">backup</a></td>",
        "<td><a href=\"/jobs/flaky\">flaky</a></td>",
        "<td class=\"rate\">100 %</td>",
        "<td class=\"rate\">0 %</td>",
        &format!(
            "<span class=\"dot succeeded\"></span><a href=\"/runs/{}\">succeeded</a>",
            ids["backup"]
        ),
        &format!(
            "<span class=\"dot failed\"></span><a href=\"/runs/{}\">failed</a>",
            ids["flaky"]
        ),
        "<td>At 04:00, on Monday</td><td><span class=\"countdown\" data-at=\"",
        "<a href=\"/stacks/shop\">shop</a>",
        "<span class=\"badge synced\">synced</span>",
        "web running",
        "commit-applied",
        // Health at a glance: the summary line, title and favicon.
        "<p id=\"health\" class=\"health bad\" role=\"status\"><span aria-hidden=\"true\">✖</span> 1 failing: flaky</p>",
        "<title>✖ 1 failing · tend</title>",
        "href=\"/favicon-bad.svg\"",
    ] {
        assert!(dom.contains(want), "missing {want:?} in the DOM:\n{dom}");
    }
    // The script replaced the server's "in 3 min" with a ticking countdown.
    let hourly = dom
        .split("/jobs/hourly\">hourly</a>")
        .nth(1)
        .and_then(|rest| rest.split("</span>").next())
        .unwrap_or_default();
    assert!(
        hourly.contains(" s") && hourly.contains(">in "),
        "no ticking countdown for the hourly job: {hourly:?}"
    );
    // A job page: rate, streak, trend bars linked to runs, history.
    let dom = chromium(&["--dump-dom"], &format!("http://{}/jobs/flaky", t.addr));
    for want in [
        "0 % <span class=\"muted small\">of the last 1 runs</span>",
        "1 failed in a row",
        &format!("<a href=\"/runs/{0}\">{0}</a>", ids["flaky"]),
        "<rect class=\"failed\"",
    ] {
        assert!(
            dom.contains(want),
            "missing {want:?} in the job page:\n{dom}"
        );
    }
    let dom = chromium(&["--dump-dom"], &format!("http://{}/jobs/weekly", t.addr));
    assert_eq!(dom.matches("class=\"countdown\"").count(), 5, "{dom}");
    assert!(dom.contains("<time>Mon "), "{dom}");
    // A run page: the log's markup is text, its colour codes are gone.
    let runs = t.runs("job=shout&limit=5");
    let id = runs
        .iter()
        .find(|r| r["status"] == "succeeded")
        .expect("a finished run")["id"]
        .clone();
    let dom = chromium(&["--dump-dom"], &format!("http://{}/runs/{id}", t.addr));
    // The printed line, without its colour codes (the command echo above it
    // shows them as the literal text `\033[31m`).
    assert!(
        dom.contains(" &lt;script&gt;alert(1)&lt;/script&gt;\n"),
        "{dom}"
    );
    assert!(
        !dom.contains("<script>alert") && !dom.contains('\u{1b}'),
        "{dom}"
    );
    // A stack page with the reason of each change.
    let dom = chromium(&["--dump-dom"], &format!("http://{}/stacks/shop", t.addr));
    assert!(
        dom.contains("<td>create</td><td>web</td><td>new stack (commit "),
        "{dom}"
    );
    assert!(dom.contains("<td>shop-web-1</td><td>running</td>"), "{dom}");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    chromium(
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,800",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
}

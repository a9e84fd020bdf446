//! `tend jobs`: kinds, schedules in words and the next fire times in each
//! job's own time zone, including across a DST change.

use crate::support::{Dir, project, tend};

#[test]
fn lists_example_jobs_across_a_dst_change() {
    // Europe/Berlin springs forward on 2026-03-29; New York did on 03-08.
    let run = tend(
        &project(),
        &["jobs", "example-repo", "--now", "2026-03-27T12:00:00Z"],
    )
    .expect_code(0);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn manual_only_job_has_no_fire_times() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - name: by-hand\n    command: [echo, hi]\n",
    );
    let run = tend(dir.path(), &["jobs"]).expect_code(0);
    assert_eq!(
        run.stdout,
        "by-hand  (command echo hi)\n  schedule: none (runs only when triggered)\n"
    );
}

#[test]
fn invalid_repo_prints_diagnostics_and_exits_1() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - name: x\n    schedule: nope\n    command: [echo]\n",
    );
    let run = tend(dir.path(), &["jobs"]).expect_code(1);
    assert!(
        run.stdout
            .contains("jobs/j.yaml:3:15: error: invalid cron expression `nope`"),
        "{}",
        run.stdout
    );
}

#[test]
fn preview_from_any_instant_as_json_across_spring_forward_and_fall_back() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - name: nightly\n    schedule: \"30 2 * * *\"\n    timezone: Europe/Berlin\n    command: [\"true\"]\n  - name: early\n    schedule: \"15 1 * * *\"\n    timezone: America/New_York\n    command: [\"true\"]\n  - name: manual\n    command: [\"true\"]\n",
    );
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["jobs", ".", "--format", "json"];
        all.extend(args);
        serde_json::from_str(&tend(dir.path(), &all).expect_code(0).stdout).unwrap()
    };
    // 02:30 does not exist on 2027-03-28 in Berlin: it runs once at 03:00.
    let v = json(&[
        "--from",
        "2027-03-27T00:00:00+01:00",
        "--count",
        "3",
        "--job",
        "nightly",
    ]);
    assert_eq!(
        v,
        serde_json::json!([{
            "job": "nightly", "schedule": "30 2 * * *", "timezone": "Europe/Berlin",
            "next": ["2027-03-27T02:30:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00"],
        }])
    );
    // 01:15 happens twice on 2026-11-01 in New York: it runs once.
    let v = json(&[
        "--from",
        "2026-10-31T12:00:00-04:00",
        "--count",
        "2",
        "--job",
        "early",
    ]);
    assert_eq!(
        v[0]["next"],
        serde_json::json!(["2026-11-01T01:15:00-04:00", "2026-11-02T01:15:00-05:00"])
    );
    // Every job, a manual one with no schedule and no fire times.
    let v = json(&["--from", "2026-10-31T12:00:00Z"]);
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["early", "manual", "nightly"]);
    assert_eq!(v[1]["schedule"], serde_json::Value::Null);
    assert_eq!(v[1]["next"], serde_json::json!([]));
    let run = tend(dir.path(), &["jobs", ".", "--job", "nope"]).expect_code(1);
    assert!(run.stderr.contains("no job `nope`"), "{}", run.stderr);
}

#[test]
fn jitter_shifts_every_fire_time_by_one_stable_offset() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - name: nas-a\n    schedule: \"0 3 * * *\"\n    jitter: 10m\n    command: [\"true\"]\n  - name: nas-b\n    schedule: \"0 3 * * *\"\n    jitter: 10m\n    command: [\"true\"]\n",
    );
    let args = [
        "jobs",
        ".",
        "--from",
        "2026-12-01T00:00:00Z",
        "--count",
        "3",
        "--format",
        "json",
    ];
    let offsets = || -> Vec<Vec<i64>> {
        let v: serde_json::Value =
            serde_json::from_str(&tend(dir.path(), &args).expect_code(0).stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|j| {
                j["next"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| {
                        let t = chrono::DateTime::parse_from_rfc3339(t.as_str().unwrap()).unwrap();
                        let base = t.date_naive().and_hms_opt(3, 0, 0).unwrap().and_utc();
                        (t.to_utc() - base).num_seconds()
                    })
                    .collect()
            })
            .collect()
    };
    let first = offsets();
    assert_eq!(first, offsets(), "stable across runs");
    for job in &first {
        assert!(
            job.iter().all(|o| *o == job[0] && (0..600).contains(o)),
            "{first:?}"
        );
    }
    assert_ne!(
        first[0][0], first[1][0],
        "two names, two offsets: {first:?}"
    );
    let human = tend(dir.path(), &["jobs", "."]).expect_code(0).stdout;
    assert!(human.contains(" jitter\n"), "{human}");
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - name: x\n    jitter: 1m\n    command: [\"true\"]\n",
    );
    let run = tend(dir.path(), &["check", "."]).expect_code(1);
    assert!(
        run.stdout.contains("`jitter` needs a `schedule`"),
        "{}",
        run.stdout
    );
}

#[test]
fn after_names_other_jobs_without_cycles() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - { name: a, command: [\"true\"], after: [c] }\n  - { name: b, command: [\"true\"], after: [a] }\n  - { name: c, command: [\"true\"], after: [b] }\n  - { name: d, command: [\"true\"], after: [d, nope] }\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    for want in [
        "`after` forms a cycle: a → c → b → a",
        "job `d` cannot run after itself",
        "`after`: unknown job `nope`",
    ] {
        assert!(out.contains(want), "{want}:\n{out}");
    }
    dir.write(
        "jobs/j.yaml",
        "jobs:\n  - { name: a, command: [\"true\"] }\n  - { name: c, schedule: \"0 3 * * *\", command: [\"true\"], after: [a] }\n",
    );
    tend(dir.path(), &["check", "."]).expect_code(0);
}

#[test]
fn bad_timing_keys_are_clear_errors() {
    let dir = Dir::new();
    dir.write(
        "jobs/j.yaml",
        "jobs:
  - { name: spaced, command: ['true'], lock: 'my lock' }
  - { name: neg, schedule: '0 3 * * *', jitter: -1m, command: ['true'] }
  - { name: long, schedule: '0 * * * *', jitter: 2h, command: ['true'] }
  - { name: past, at: '2020-01-01T00:00:00', missed: skip, command: ['true'] }
  - { name: selfish, after: [selfish], command: ['true'] }
",
    );
    let run = tend(dir.path(), &["check", "."]).expect_code(1);
    crate::support::assert_contains_all(
        &run.stdout,
        &[
            "jobs/j.yaml:2:46: error: invalid lock name `my lock`",
            "jobs/j.yaml:3:49: error: `jitter` cannot be negative (`-1m`)",
            "jobs/j.yaml:4:50: error: `jitter` 2h is longer than the shortest time between two fire times of `0 * * * *` (1h)",
            "jobs/j.yaml:5:23: error: `at` 2020-01-01T00:00:00+00:00 has passed and `missed: skip` never runs a missed time",
            "jobs/j.yaml:6:30: error: job `selfish` cannot run after itself",
        ],
    );
    let run = tend(dir.path(), &["jobs", ".", "--from", "not-a-time"]).expect_code(2);
    assert!(
        run.stderr.contains("`not-a-time` is not an RFC 3339 time"),
        "{}",
        run.stderr
    );
}

#[test]
fn jitter_spreads_a_hundred_jobs_of_one_minute_evenly_over_the_window() {
    let dir = Dir::new();
    let jobs: String = (0..100)
        .map(|i| {
            format!(
                "  - {{ name: sync-{i}, schedule: '0 3 * * *', jitter: 10m, command: ['true'] }}\n"
            )
        })
        .collect();
    dir.write("jobs/j.yaml", format!("jobs:\n{jobs}"));
    let args = [
        "jobs",
        ".",
        "--from",
        "2026-12-01T00:00:00Z",
        "--count",
        "1",
        "--format",
        "json",
    ];
    let out = tend(dir.path(), &args).expect_code(0).stdout;
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut deciles = [0; 10];
    for job in v.as_array().unwrap() {
        let t = job["next"][0].as_str().unwrap();
        let t = chrono::DateTime::parse_from_rfc3339(t).unwrap().to_utc();
        let offset = (t - "2026-12-01T03:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap())
        .num_seconds();
        assert!((0..600).contains(&offset), "{offset}");
        deciles[(offset / 60) as usize] += 1;
    }
    assert!(deciles.iter().all(|n| (8..=12).contains(n)), "{deciles:?}");
    assert_eq!(out, tend(dir.path(), &args).expect_code(0).stdout, "stable");
}

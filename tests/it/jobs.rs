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

//! `tend check`: the example repository passes; each bad fixture fails with
//! every one of its errors at the right `file:line:col` (insta snapshots);
//! JSON output; exit codes; a symlink escape committed to a real git repo.

use crate::support::{Dir, commit_and_clone, fixture, project, tend};

#[test]
fn example_repo_is_valid() {
    let run = tend(&project(), &["check", "example-repo"]).expect_code(0);
    assert!(
        run.stdout
            .starts_with("ok: 5 jobs, 2 stacks (5 services), 2 docker hosts"),
        "{}",
        run.stdout
    );
}

fn check_fixture(name: &str) -> String {
    let run = tend(&fixture(name), &["check"]).expect_code(1);
    assert!(
        run.stdout.ends_with("this commit would not be applied\n"),
        "{}",
        run.stdout
    );
    run.stdout
}

#[test]
fn bad_keys_fixture() {
    insta::assert_snapshot!(check_fixture("bad-keys"));
}

#[test]
fn bad_values_fixture() {
    insta::assert_snapshot!(check_fixture("bad-values"));
}

#[test]
fn bad_paths_fixture() {
    let dir = Dir::copy_of(&fixture("bad-paths"));
    set_mode(&dir.path().join("scripts/not-exec.sh"), 0o644);
    let run = tend(dir.path(), &["check"]).expect_code(1);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn bad_refs_fixture() {
    insta::assert_snapshot!(check_fixture("bad-refs"));
}

#[test]
fn bad_syntax_fixture() {
    insta::assert_snapshot!(check_fixture("bad-syntax"));
}

#[test]
fn json_format_lists_every_diagnostic() {
    let run = tend(&fixture("bad-refs"), &["check", "--format", "json"]).expect_code(1);
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    let items = parsed.as_array().expect("a JSON array");
    assert_eq!(items.len(), 14, "{}", run.stdout);
    let first = &items[0];
    assert_eq!(first["file"], "jobs/a.yaml");
    assert_eq!(first["line"], 6);
    assert_eq!(first["column"], 16);
    assert!(
        first["message"]
            .as_str()
            .unwrap()
            .contains("unknown service `frontend`")
    );
    let ok = tend(&project(), &["check", "example-repo", "--format", "json"]).expect_code(0);
    assert_eq!(ok.stdout.trim(), "[]");
}

#[test]
fn missing_folder_exits_2() {
    let dir = Dir::new();
    let run = tend(dir.path(), &["check", "no-such-folder"]).expect_code(2);
    assert!(
        run.stderr
            .contains("cannot read config repository no-such-folder"),
        "{}",
        run.stderr
    );
}

#[test]
fn symlink_out_of_a_cloned_repo_is_refused() {
    let src = Dir::new();
    src.write("playbooks/.keep", "");
    src.write(
        "jobs/j.yaml",
        "jobs:\n  - name: sneaky\n    playbook: playbooks/site.yml\n",
    );
    std::os::unix::fs::symlink("/etc/hostname", src.path().join("playbooks/site.yml")).unwrap();
    std::os::unix::fs::symlink("/etc", src.path().join("jobs/etc.yaml")).unwrap();
    let clone = commit_and_clone(&src, "symlinks pointing out");
    let run = tend(clone.path(), &["check"]).expect_code(1);
    assert!(
        run.stdout.contains("jobs/j.yaml:3:15: error: `playbooks/site.yml` is a symlink that points outside the repository"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("jobs/etc.yaml:1:1: error: `jobs/etc.yaml` is a symlink that points outside the repository"),
        "{}",
        run.stdout
    );
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

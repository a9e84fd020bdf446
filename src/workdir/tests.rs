//! The working directory on real files in a temp folder: what git tracks
//! follows git, what the host or a container wrote is never lost.

use super::*;
use std::fs;

struct Case {
    _tmp: tempfile::TempDir,
    git: PathBuf,
    dir: WorkDir,
}

fn case() -> Case {
    let tmp = tempfile::tempdir().unwrap();
    let git = tmp.path().join("snap/stacks/app");
    fs::create_dir_all(git.join("config")).unwrap();
    fs::write(git.join("compose.yaml"), "services: {}\n").unwrap();
    fs::write(git.join("config/app.conf"), "a=1\n").unwrap();
    let dir = WorkDir::under(&tmp.path().join("data/stacks"), "local", "app");
    Case {
        _tmp: tmp,
        git,
        dir,
    }
}

impl Case {
    /// One pass: diff then apply; returns the kinds and paths changed.
    fn pass(&self, owned: &[&str], binds: &[&str]) -> Vec<(FileKind, String)> {
        let owned: Vec<String> = owned.iter().map(|s| s.to_string()).collect();
        let binds: Vec<String> = binds.iter().map(|s| s.to_string()).collect();
        let tracked = scan(&self.git).unwrap();
        let changes = diff(&tracked, &self.dir, &owned, &binds).unwrap();
        for (c, r) in sync::apply(&tracked, &self.dir, &changes) {
            r.unwrap_or_else(|e| panic!("{c:?}: {e}"));
        }
        changes.into_iter().map(|c| (c.kind, c.path)).collect()
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.dir.root.join(rel)).unwrap()
    }
}

#[test]
fn container_state_survives_commits_and_git_wins_for_tracked_files() {
    let c = case();
    let first = c.pass(&[], &["config", "data"]);
    assert_eq!(first.len(), 3, "{first:?}");
    assert!(first.contains(&(FileKind::CreateFolder, "data".into())));
    // What a container writes, beside and below tracked files.
    fs::write(c.dir.root.join("config/state.db"), "user data\n").unwrap();
    fs::write(c.dir.root.join("data/x"), "x\n").unwrap();
    for n in 2..12 {
        fs::write(c.git.join("config/app.conf"), format!("a={n}\n")).unwrap();
        let changed = c.pass(&[], &["config", "data"]);
        assert_eq!(changed, [(FileKind::Place, "config/app.conf".into())]);
    }
    assert_eq!(c.read("config/app.conf"), "a=11\n");
    assert_eq!(c.read("config/state.db"), "user data\n");
    assert_eq!(c.read("data/x"), "x\n");
    // A no-op pass changes nothing and writes nothing.
    let before = fs::metadata(&c.dir.manifest).unwrap().modified().unwrap();
    assert!(c.pass(&[], &["config", "data"]).is_empty());
    assert_eq!(
        fs::metadata(&c.dir.manifest).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn a_host_edit_is_drift_restored_with_the_host_copy_kept() {
    let c = case();
    c.pass(&[], &[]);
    fs::write(c.dir.root.join("config/app.conf"), "edited by hand\n").unwrap();
    let changed = c.pass(&[], &[]);
    assert_eq!(changed, [(FileKind::Restore, "config/app.conf".into())]);
    assert_eq!(c.read("config/app.conf"), "a=1\n");
    let kept: Vec<_> = fs::read_dir(&c.dir.displaced).unwrap().collect();
    assert_eq!(kept.len(), 1);
    let copy = kept[0].as_ref().unwrap().path().join("config/app.conf");
    assert_eq!(fs::read_to_string(copy).unwrap(), "edited by hand\n");
    // Deleted on the host: restored too.
    fs::remove_file(c.dir.root.join("config/app.conf")).unwrap();
    assert_eq!(
        c.pass(&[], &[]),
        [(FileKind::Restore, "config/app.conf".into())]
    );
}

#[test]
fn host_owned_files_are_placed_once_then_left_alone() {
    let c = case();
    c.pass(&["config/app.conf"], &[]);
    fs::write(c.dir.root.join("config/app.conf"), "the app rewrote me\n").unwrap();
    fs::write(c.git.join("config/app.conf"), "a=2\n").unwrap();
    assert!(c.pass(&["config/app.conf"], &[]).is_empty());
    assert_eq!(c.read("config/app.conf"), "the app rewrote me\n");
    let t = scan(&c.git).unwrap();
    assert_eq!(t.digest_under("config", &["config/app.conf".into()]), None);
    assert!(t.digest_under("config", &[]).is_some());
}

#[test]
fn a_file_deleted_in_git_goes_only_if_unchanged() {
    let c = case();
    fs::write(c.git.join("config/extra.conf"), "e\n").unwrap();
    c.pass(&[], &[]);
    fs::write(c.dir.root.join("config/extra.conf"), "mine now\n").unwrap();
    fs::remove_file(c.git.join("config/extra.conf")).unwrap();
    fs::remove_file(c.git.join("compose.yaml")).unwrap();
    let changed = c.pass(&[], &[]);
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert!(!c.dir.root.join("compose.yaml").exists());
    assert_eq!(c.read("config/extra.conf"), "mine now\n");
    assert!(c.pass(&[], &[]).is_empty(), "forgotten, not removed again");
}

#[test]
fn symlinks_out_and_huge_files_are_refused_by_name() {
    let c = case();
    std::os::unix::fs::symlink("/etc/passwd", c.git.join("config/leak")).unwrap();
    let e = scan(&c.git).unwrap_err().to_string();
    assert!(
        e.contains("config/leak is a symlink that points out"),
        "{e}"
    );
    fs::remove_file(c.git.join("config/leak")).unwrap();
    std::os::unix::fs::symlink("app.conf", c.git.join("config/alias.conf")).unwrap();
    let t = scan(&c.git).unwrap();
    assert_eq!(
        t.files["config/alias.conf"].digest,
        t.files["config/app.conf"].digest
    );
    let big = fs::File::create(c.git.join("big.bin")).unwrap();
    big.set_len(MAX_FILE + 1).unwrap();
    let e = scan(&c.git).unwrap_err().to_string();
    assert!(e.starts_with("big.bin is 104857601 bytes"), "{e}");
}

#[test]
fn carrying_an_old_copy_keeps_what_it_holds() {
    let c = case();
    let old = c._tmp.path().join("data/binds/0123abcd/config");
    fs::create_dir_all(old.join("sub")).unwrap();
    fs::write(old.join("app.conf"), "a=1\n").unwrap();
    fs::write(old.join("sub/state.db"), "history\n").unwrap();
    let n = migrate::carry(&old, &c.dir.root.join("config"), true).unwrap();
    assert_eq!(n, 2);
    assert_eq!(c.read("config/sub/state.db"), "history\n");
    assert!(
        c.pass(&[], &[])
            .iter()
            .all(|(k, _)| *k != FileKind::Restore)
    );
    let binds = c._tmp.path().join("data/binds");
    let copy = migrate::copy_of(&binds, &old).unwrap();
    assert_eq!(copy, binds.join("0123abcd"));
    let in_use = std::collections::BTreeSet::from([copy]);
    assert_eq!(migrate::remove_unused(&binds, &in_use).unwrap(), 0);
    assert_eq!(
        migrate::remove_unused(&binds, &Default::default()).unwrap(),
        1
    );
    assert!(!binds.exists());
}

//! Snapshots: the files of one commit written to `snapshots/<commit>/`, read
//! only, for the validator, ansible-playbook and commands to read. Written to
//! a temporary folder and renamed into place, so a snapshot is complete or
//! absent. Entry names from the tree are checked so nothing is written
//! outside the snapshot; symlinks are kept as symlinks (the validator
//! refuses those that point out). Sizes are bounded.

use super::SourceError;
use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Most entries one snapshot may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes of file content one snapshot may hold.
pub const MAX_BYTES: u64 = 1 << 30;

/// Writes the tree of `commit` to `root/<commit>` unless already there.
pub fn materialize(repo: &Repository, commit: Oid, root: &Path) -> Result<PathBuf, SourceError> {
    let target = root.join(commit.to_string());
    if target.is_dir() {
        return Ok(target);
    }
    let tmp = root.join(format!(".tmp-{commit}"));
    remove(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| SourceError::io("create snapshot folder", &tmp, e))?;
    let tree = repo
        .find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(SourceError::git("read commit"))?;
    let mut failure: Option<SourceError> = None;
    let (mut entries, mut bytes) = (0usize, 0u64);
    let walk = tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        entries += 1;
        let step = write_entry(repo, &tmp, dir, entry, &mut bytes);
        let step = step.and_then(|()| check_budget(entries, bytes));
        match step {
            Ok(()) => TreeWalkResult::Ok,
            Err(e) => {
                failure = Some(e);
                TreeWalkResult::Abort
            }
        }
    });
    if let Some(e) = failure {
        remove(&tmp);
        return Err(e);
    }
    walk.map_err(SourceError::git("walk tree"))?;
    set_read_only(&tmp);
    fs::rename(&tmp, &target).map_err(|e| SourceError::io("rename snapshot", &target, e))?;
    Ok(target)
}

fn check_budget(entries: usize, bytes: u64) -> Result<(), SourceError> {
    if entries > MAX_ENTRIES || bytes > MAX_BYTES {
        return Err(SourceError::TooLarge { entries, bytes });
    }
    Ok(())
}

fn write_entry(
    repo: &Repository,
    root: &Path,
    dir: &str,
    entry: &git2::TreeEntry<'_>,
    bytes: &mut u64,
) -> Result<(), SourceError> {
    let name = entry.name().unwrap_or("");
    if name.is_empty()
        || name == "."
        || name == ".."
        || name == ".git"
        || name.contains(['/', '\\', '\0'])
    {
        return Err(SourceError::BadEntry(format!("{dir}{name}")));
    }
    let path = root.join(dir).join(name);
    let io = |what: &'static str| move |e| SourceError::io(what, &root.join(dir).join(name), e);
    match entry.kind() {
        Some(ObjectType::Tree) => fs::create_dir_all(&path).map_err(io("create folder")),
        Some(ObjectType::Blob) => {
            let blob = repo
                .find_blob(entry.id())
                .map_err(SourceError::git("read blob"))?;
            *bytes += blob.size() as u64;
            if entry.filemode() == 0o120000 {
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                return std::os::unix::fs::symlink(target, &path).map_err(io("create symlink"));
            }
            fs::write(&path, blob.content()).map_err(io("write file"))?;
            let mode = if entry.filemode() == 0o100755 {
                0o555
            } else {
                0o444
            };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(io("set mode"))
        }
        _ => {
            tracing::warn!(path = %format!("{dir}{name}"), "skipping submodule entry in snapshot");
            Ok(())
        }
    }
}

fn set_read_only(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            set_read_only(&entry.path());
        }
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o555));
}

/// Removes a snapshot (or any folder tree made read-only by this module).
pub fn remove(dir: &Path) {
    if fs::symlink_metadata(dir).is_err() {
        return;
    }
    make_writable(dir);
    if let Err(e) = fs::remove_dir_all(dir) {
        tracing::warn!(path = %dir.display(), cause = %e, "could not remove old snapshot");
    }
}

fn make_writable(dir: &Path) {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        make_writable(&entry.path());
    }
}

/// Snapshots kept besides the one in force, newest first, so that jobs
/// still running from a previous commit keep their working folder.
pub const KEEP_PREVIOUS: usize = 3;

/// Removes every snapshot under `root` except those named in `keep` and the
/// [`KEEP_PREVIOUS`] newest others, and any unfinished temporary folder.
pub fn prune(root: &Path, keep: &[&str]) {
    let mut others: Vec<(std::time::SystemTime, PathBuf, String)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let modified = e.metadata().and_then(|m| m.modified()).ok()?;
            (!keep.contains(&name.as_str())).then_some((modified, e.path(), name))
        })
        .collect();
    others.sort_by_key(|o| std::cmp::Reverse(o.0));
    let mut kept = 0;
    for (_, path, name) in others {
        if !name.starts_with(".tmp-") && kept < KEEP_PREVIOUS {
            kept += 1;
            continue;
        }
        remove(&path);
    }
}

//! Content-addressed copies of relative bind sources (`./conf:/etc/app`).
//!
//! A commit's snapshot folder changes with every commit; mounting it
//! directly would recreate every container with a relative bind on every
//! commit, and leave old containers pointing into pruned snapshots. The
//! daemon mounts `DATA/binds/<digest>/<name>` instead: same files, same
//! path, same container.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Largest bind source copied, in bytes.
const MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Most files in one bind source.
const MAX_FILES: usize = 100_000;

/// The copies under one folder, remembered per source for one commit (a
/// commit's files do not change), so a source is hashed once per commit,
/// not on every pass.
pub struct Binds {
    root: PathBuf,
    known: std::sync::Mutex<std::collections::HashMap<PathBuf, PathBuf>>,
    commit: String,
}

impl Binds {
    /// Copies go under `root`.
    pub fn new(root: PathBuf) -> Self {
        Binds {
            root,
            known: Default::default(),
            commit: String::new(),
        }
    }

    /// Forgets what it knows when `commit` is not the one it knew it for
    /// (in dev mode the folder itself changes between "commits").
    pub fn for_commit(&mut self, commit: &str) {
        if self.commit != commit {
            self.commit = commit.to_owned();
            self.known
                .get_mut()
                .unwrap_or_else(|p| p.into_inner())
                .clear();
        }
    }

    /// The copy of `source` (a path inside a read-only snapshot).
    pub fn get(&self, source: &Path) -> Result<PathBuf, String> {
        let lock = || self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = lock().get(source) {
            return Ok(found.clone());
        }
        let made = materialize(&self.root, source)?;
        lock().insert(source.to_owned(), made.clone());
        Ok(made)
    }
}

/// The copy of `source` under `root`, made if missing; its name says its content.
pub fn materialize(root: &Path, source: &Path) -> Result<PathBuf, String> {
    let meta = std::fs::symlink_metadata(source)
        .map_err(|e| format!("{} does not exist in the commit ({e})", source.display()))?;
    let mut files = Vec::new();
    walk(source, Path::new(""), &meta, &mut files)?;
    let mut hash = Sha256::new();
    let mut total = 0u64;
    for (rel, full) in &files {
        let data = std::fs::read(full).map_err(|e| format!("{}: {e}", full.display()))?;
        total += data.len() as u64;
        if total > MAX_BYTES {
            return Err(format!("{} is larger than 256 MiB", source.display()));
        }
        hash.update(rel.to_string_lossy().as_bytes());
        hash.update([0]);
        hash.update((data.len() as u64).to_le_bytes());
        hash.update(&data);
    }
    hash.update([u8::from(meta.is_dir())]);
    let digest = hex::encode(&hash.finalize()[..12]);
    let name = source.file_name().unwrap_or_default();
    let dest = root.join(&digest).join(name);
    if dest.exists() {
        return Ok(dest);
    }
    let tmp = root.join(format!(".{digest}.tmp"));
    let _ = std::fs::remove_dir_all(&tmp);
    let target = tmp.join(name);
    let copy = || -> std::io::Result<()> {
        std::fs::create_dir_all(&tmp)?;
        if meta.is_dir() {
            std::fs::create_dir_all(&target)?;
        }
        for (rel, full) in &files {
            let to = if meta.is_dir() {
                target.join(rel)
            } else {
                target.clone()
            };
            if let Some(dir) = to.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::copy(full, &to)?;
        }
        std::fs::rename(&tmp, root.join(&digest))
    };
    copy().map_err(|e| format!("copying {} to {}: {e}", source.display(), dest.display()))?;
    Ok(dest)
}

/// Regular files under `path` (or `path` itself), sorted; symlinks are
/// refused (a bind source must be the repository's own files).
fn walk(
    path: &Path,
    rel: &Path,
    meta: &std::fs::Metadata,
    out: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), String> {
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symlink; bind sources must be plain files or folders",
            path.display()
        ));
    }
    if meta.is_file() {
        out.push((rel.to_owned(), path.to_owned()));
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if out.len() >= MAX_FILES {
            return Err(format!(
                "{} has more than {MAX_FILES} files",
                path.display()
            ));
        }
        let m = e
            .metadata()
            .map_err(|err| format!("{}: {err}", e.path().display()))?;
        walk(&e.path(), &rel.join(e.file_name()), &m, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_path_new_content_new_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, root) = (
            dir.path().join("a/conf"),
            dir.path().join("b/conf"),
            dir.path().join("binds"),
        );
        for d in [&a, &b] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
            std::fs::write(d.join("sub/app.ini"), "x=1\n").unwrap();
        }
        let pa = materialize(&root, &a).unwrap();
        assert_eq!(materialize(&root, &b).unwrap(), pa);
        assert_eq!(
            std::fs::read_to_string(pa.join("sub/app.ini")).unwrap(),
            "x=1\n"
        );
        std::fs::write(b.join("sub/app.ini"), "x=2\n").unwrap();
        assert_ne!(materialize(&root, &b).unwrap(), pa);
        std::os::unix::fs::symlink("/etc/passwd", a.join("leak")).unwrap();
        assert!(materialize(&root, &a).unwrap_err().contains("symlink"));
        assert!(materialize(&root, &dir.path().join("missing")).is_err());
    }
}

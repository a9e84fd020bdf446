//! Carrying out a working directory's [`FileChange`]s: each file written
//! to a temporary name beside it and renamed (a full disk leaves the old
//! file whole), a host copy that is about to be replaced kept under
//! `.displaced/<time>/` first, a removal checked again against the
//! manifest just before it, and the manifest written once at the end.

use super::{FileChange, FileKind, Placed, Tracked, WorkDir, WorkError, current, io, mtime};
use std::path::Path;

/// Applies `changes` (from [`super::diff`]); returns each change with its
/// outcome. The manifest records every file that was placed.
pub fn apply(
    tracked: &Tracked,
    dir: &WorkDir,
    changes: &[FileChange],
) -> Vec<(FileChange, Result<(), WorkError>)> {
    let mut manifest = match dir.manifest() {
        Ok(m) => m,
        Err(e) => {
            let why = e.to_string();
            return changes
                .iter()
                .map(|c| (c.clone(), Err(broken(&dir.manifest, &why))))
                .collect();
        }
    };
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    let mut out = Vec::new();
    for c in changes {
        let r = match c.kind {
            FileKind::CreateFolder => {
                let path = dir.root.join(&c.path);
                std::fs::create_dir_all(&path).map_err(io(&path))
            }
            FileKind::Place | FileKind::Restore => {
                let Some(f) = tracked.files.get(&c.path) else {
                    out.push((c.clone(), Ok(())));
                    continue;
                };
                let on_disk = dir.root.join(&c.path);
                keep_host_copy(dir, &c.path, manifest.files.get(&c.path), &stamp)
                    .and_then(|()| place(&f.source, &on_disk, f.exec))
                    .map(|placed| {
                        manifest.files.insert(c.path.clone(), placed);
                    })
            }
            FileKind::Remove => remove(dir, &c.path, &mut manifest),
        };
        out.push((c.clone(), r));
    }
    let unchanged = dir.manifest().is_ok_and(|m| m == manifest);
    if let Err(e) = if unchanged {
        Ok(())
    } else {
        write_manifest(dir, &manifest)
    } {
        let why = e.to_string();
        for (_, r) in out.iter_mut().filter(|(_, r)| r.is_ok()) {
            *r = Err(broken(&dir.manifest, &why));
        }
    }
    out
}

fn broken(path: &Path, why: &str) -> WorkError {
    WorkError::Io {
        path: path.to_owned(),
        source: std::io::Error::other(why.to_owned()),
    }
}

/// Copies the file at `rel` (if any, and if not what tend placed) to
/// `.displaced/<stamp>/rel`, so nothing a user or an app wrote is lost.
fn keep_host_copy(
    dir: &WorkDir,
    rel: &str,
    placed: Option<&Placed>,
    stamp: &str,
) -> Result<(), WorkError> {
    let from = dir.root.join(rel);
    let Ok(meta) = std::fs::symlink_metadata(&from) else {
        return Ok(());
    };
    if meta.is_file() && current(&from, placed)? == placed.map(|p| p.digest.clone()) {
        return Ok(());
    }
    let to = dir.displaced.join(stamp).join(rel);
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    copy_tree(&from, &to).map_err(io(&to))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    if std::fs::symlink_metadata(from)?.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
        Ok(())
    } else {
        std::fs::copy(from, to).map(|_| ())
    }
}

/// Writes `source` to `to` through a temporary file in the same folder.
fn place(source: &Path, to: &Path, exec: bool) -> Result<Placed, WorkError> {
    use std::os::unix::fs::PermissionsExt;
    let parent = to.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let name = to.file_name().unwrap_or_default().to_string_lossy();
    let tmp = parent.join(format!(".{name}.tend-tmp"));
    let written = std::fs::copy(source, &tmp)
        .and_then(|_| {
            let mode = if exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
        })
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all());
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(to)(e));
    }
    if std::fs::metadata(to).is_ok_and(|m| m.is_dir()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(to)(std::io::Error::other(
            "a folder is where a tracked file belongs",
        )));
    }
    std::fs::rename(&tmp, to).map_err(io(to))?;
    let meta = std::fs::metadata(to).map_err(io(to))?;
    Ok(Placed {
        digest: super::digest_file(to)?,
        size: meta.len(),
        mtime: mtime(&meta),
    })
}

/// Deletes a file removed from git when it is still what tend placed; a
/// changed one stays on the host and is forgotten.
fn remove(dir: &WorkDir, rel: &str, manifest: &mut super::Manifest) -> Result<(), WorkError> {
    let Some(placed) = manifest.files.get(rel) else {
        return Ok(());
    };
    let path = dir.root.join(rel);
    if current(&path, Some(placed))?.as_deref() == Some(placed.digest.as_str()) {
        std::fs::remove_file(&path).map_err(io(&path))?;
    }
    manifest.files.remove(rel);
    Ok(())
}

/// Writes the manifest atomically (temporary file, fsync, rename).
pub fn write_manifest(dir: &WorkDir, m: &super::Manifest) -> Result<(), WorkError> {
    let text = serde_json::to_vec_pretty(m).unwrap_or_default();
    let parent = dir.manifest.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    std::fs::create_dir_all(&dir.root).map_err(io(&dir.root))?;
    let tmp = dir.manifest.with_extension("json.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, &dir.manifest))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(&dir.manifest)(e)
        })
}

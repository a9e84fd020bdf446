//! Upgrading from the layout before working directories: containers
//! mounted content-addressed copies (`DATA/binds/<digest>/<name>`), and
//! whatever they wrote lives there. [`carry`] copies such a copy into the
//! working directory before the container is recreated; the old copies
//! are removed only once no container mounts them ([`remove_unused`]).

use super::{WorkError, io};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Copies everything under `old` to `new` (a file or a folder). A file that
/// already exists at the destination is overwritten only when `overwrite`
/// (the working directory was never synced: the old copy is the newest
/// state); otherwise it is kept.
pub fn carry(old: &Path, new: &Path, overwrite: bool) -> Result<u64, WorkError> {
    let meta = std::fs::symlink_metadata(old).map_err(io(old))?;
    if meta.file_type().is_symlink() {
        return Ok(0);
    }
    if meta.is_dir() {
        std::fs::create_dir_all(new).map_err(io(new))?;
        let mut n = 0;
        for e in std::fs::read_dir(old).map_err(io(old))? {
            let e = e.map_err(io(old))?;
            n += carry(&e.path(), &new.join(e.file_name()), overwrite)?;
        }
        return Ok(n);
    }
    if new.exists() && !overwrite {
        return Ok(0);
    }
    if let Some(parent) = new.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let tmp = new.with_file_name(format!(
        ".{}.tend-tmp",
        new.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::copy(old, &tmp)
        .and_then(|_| std::fs::rename(&tmp, new))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(new)(e)
        })?;
    Ok(1)
}

/// The copy folder (`DATA/binds/<digest>`) a mount source lies in, if any.
pub fn copy_of(binds: &Path, source: &Path) -> Option<PathBuf> {
    let rest = source.strip_prefix(binds).ok()?;
    let first = rest.components().next()?;
    Some(binds.join(first))
}

/// Removes the copies under `binds` that no container mounts (`in_use`
/// are copy folders); the folder itself goes when it is empty.
pub fn remove_unused(binds: &Path, in_use: &BTreeSet<PathBuf>) -> Result<usize, WorkError> {
    let mut removed = 0;
    for e in std::fs::read_dir(binds).map_err(io(binds))? {
        let path = e.map_err(io(binds))?.path();
        if in_use.contains(&path) {
            continue;
        }
        let r = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        r.map_err(io(&path))?;
        removed += 1;
    }
    if in_use.is_empty() {
        std::fs::remove_dir(binds).map_err(io(binds))?;
    }
    Ok(removed)
}

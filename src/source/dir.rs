//! Dev mode: a plain local folder (not a git repository) used as the config
//! source as it is, uncommitted. Its "commit" is a digest of its contents;
//! a watcher turns edits into (debounced) reconcile requests.

use super::{Fetched, SourceError};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Most entries walked when digesting a folder.
const MAX_ENTRIES: usize = 100_000;

/// A running folder watch; dropping it stops the watch.
pub type Watcher = notify::RecommendedWatcher;

/// A folder followed as it is.
pub struct DirSource {
    path: PathBuf,
}

impl DirSource {
    /// A source for the folder at `path`.
    pub fn new(path: &Path) -> Self {
        DirSource {
            path: path.to_owned(),
        }
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Digests the folder's current contents.
    pub fn fetch(&self) -> Result<Fetched, SourceError> {
        let mut hasher = Sha256::new();
        let mut count = 0;
        digest(&self.path, &self.path, &mut hasher, &mut count)?;
        let hex = hex::encode(hasher.finalize());
        Ok(Fetched {
            commit: hex.clone(),
            tree: hex,
            summary: format!("uncommitted contents of {}", self.path.display()),
            rewritten_from: None,
            recloned: None,
        })
    }
}

fn digest(
    root: &Path,
    dir: &Path,
    hasher: &mut Sha256,
    count: &mut usize,
) -> Result<(), SourceError> {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| SourceError::io("read folder", dir, e))?
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        *count += 1;
        if *count > MAX_ENTRIES {
            return Err(SourceError::TooLarge {
                entries: *count,
                bytes: 0,
            });
        }
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        if rel == ".git" {
            continue;
        }
        let meta = fs::symlink_metadata(&path).map_err(|e| SourceError::io("stat", &path, e))?;
        hasher.update(rel.as_bytes());
        hasher.update([0]);
        if meta.is_dir() {
            hasher.update(b"d");
            digest(root, &path, hasher, count)?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap_or_default();
            hasher.update(b"l");
            hasher.update(target.to_string_lossy().as_bytes());
        } else {
            use std::os::unix::fs::PermissionsExt;
            let exec = meta.permissions().mode() & 0o111 != 0;
            hasher.update(if exec { b"x" } else { b"f" });
            hasher.update(meta.len().to_le_bytes());
            hasher.update(fs::read(&path).map_err(|e| SourceError::io("read", &path, e))?);
        }
        hasher.update([0]);
    }
    Ok(())
}

/// Watches `path` recursively and calls `on_change` once per burst of
/// edits, after `debounce` of quiet. The watcher lives as long as the
/// returned value.
pub fn watch(
    path: &Path,
    debounce: Duration,
    on_change: impl Fn() + Send + 'static,
) -> Result<Watcher, SourceError> {
    use notify::Watcher;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if res.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| SourceError::Watch(e.to_string()))?;
    watcher
        .watch(path, notify::RecursiveMode::Recursive)
        .map_err(|e| SourceError::Watch(e.to_string()))?;
    std::thread::Builder::new()
        .name("tend-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                while rx.recv_timeout(debounce).is_ok() {}
                on_change();
            }
        })
        .map_err(|e| SourceError::Watch(e.to_string()))?;
    Ok(watcher)
}

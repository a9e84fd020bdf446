//! A stack's persistent working directory: where relative bind sources
//! (`./config:/config`) resolve, as compose resolves them into its project
//! directory. Files tracked in git under the stack's folder are placed in
//! it; what containers write there is never touched.
//!
//! Git stays the truth for tracked files only. A manifest beside the
//! folder (`<stack>.manifest.json`) records what tend placed, with digests,
//! so a pass can tell a file git changed (place it), a file changed on the
//! host (drift: restore it, keeping the host's copy under `.displaced/`),
//! a file deleted in git (remove it only if unchanged since tend placed it)
//! and a file the stack declares `host_owned` (placed once, then the app's).
//! [`diff`] only reads; [`sync::apply`] writes, each file atomically.

pub mod migrate;
pub mod remote;
pub mod sync;

pub use crate::model::{FileChange, FileKind, under};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest tracked file placed, in bytes.
pub const MAX_FILE: u64 = 100 * 1024 * 1024;
/// Largest total of a stack's tracked files, in bytes.
pub const MAX_TOTAL: u64 = 512 * 1024 * 1024;
/// Most tracked files in one stack folder.
pub const MAX_FILES: usize = 20_000;

/// What can go wrong reading or writing a working directory.
#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    /// A tracked file is too large to place.
    #[error("{path} is {size} bytes; tracked files of a stack are limited to {limit} bytes")]
    TooLarge {
        /// The file, relative to the stack folder.
        path: String,
        /// Its size.
        size: u64,
        /// The limit it passes.
        limit: u64,
    },
    /// A stack folder holds too many files.
    #[error("the stack folder holds more than {MAX_FILES} files")]
    TooMany,
    /// A symlink in the stack folder points out of it or at a folder.
    #[error("{path} is a symlink {why}; the stack folder must hold plain files")]
    Symlink {
        /// The link, relative to the stack folder.
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A file system call failed.
    #[error("{path}: {source}")]
    Io {
        /// The path it failed on.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// Wraps an I/O error with its path.
pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WorkError + '_ {
    move |source| WorkError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One tracked file of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    /// SHA-256 of the content, hex.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Executable bit.
    pub exec: bool,
    /// Where the content is (inside the commit's snapshot).
    pub source: PathBuf,
}

/// The tracked files of one stack folder in one commit, by path relative to
/// the folder (`/`-separated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracked {
    /// Files by relative path.
    pub files: BTreeMap<String, TrackedFile>,
}

impl Tracked {
    /// Digest over the files at or under `rel` (a relative bind source,
    /// normalised, `""` for the folder itself) that are not host-owned;
    /// `None` when there are none.
    pub fn digest_under(&self, rel: &str, host_owned: &[String]) -> Option<String> {
        let mut hash = Sha256::new();
        let mut any = false;
        for (path, f) in self.files.iter().filter(|(p, _)| under(p, rel)) {
            if host_owned.iter().any(|h| under(path, h)) {
                continue;
            }
            any = true;
            hash.update(path.as_bytes());
            hash.update([0]);
            hash.update(f.digest.as_bytes());
            hash.update([u8::from(f.exec)]);
        }
        any.then(|| hex::encode(&hash.finalize()[..6]))
    }
}

/// Reads the tracked files of `dir` (a stack folder in a snapshot). A
/// symlink is followed when it names a file inside the folder; one that
/// points out, or at a folder, is an error.
pub fn scan(dir: &Path) -> Result<Tracked, WorkError> {
    let mut out = Tracked::default();
    let root = dir.canonicalize().map_err(io(dir))?;
    let mut total = 0u64;
    walk(&root, &root, &mut out, &mut total)?;
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Tracked, total: &mut u64) -> Result<(), WorkError> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let rel = rel_of(root, &path);
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let meta = if meta.file_type().is_symlink() {
            let real = path.canonicalize().map_err(io(&path))?;
            if !real.starts_with(root) {
                let why = "that points out of the stack folder";
                return Err(WorkError::Symlink { path: rel, why });
            }
            let meta = std::fs::metadata(&real).map_err(io(&path))?;
            if meta.is_dir() {
                let why = "to a folder";
                return Err(WorkError::Symlink { path: rel, why });
            }
            meta
        } else {
            meta
        };
        if meta.is_dir() {
            walk(root, &path, out, total)?;
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        if meta.len() > MAX_FILE {
            return Err(WorkError::TooLarge {
                path: rel,
                size: meta.len(),
                limit: MAX_FILE,
            });
        }
        *total += meta.len();
        if *total > MAX_TOTAL {
            return Err(WorkError::TooLarge {
                path: rel,
                size: *total,
                limit: MAX_TOTAL,
            });
        }
        if out.files.len() >= MAX_FILES {
            return Err(WorkError::TooMany);
        }
        use std::os::unix::fs::PermissionsExt;
        let file = TrackedFile {
            digest: digest_file(&path)?,
            size: meta.len(),
            exec: meta.permissions().mode() & 0o111 != 0,
            source: path,
        };
        out.files.insert(rel, file);
    }
    Ok(())
}

fn rel_of(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    parts.join("/")
}

/// SHA-256 of a file's content, hex, read in chunks.
pub fn digest_file(path: &Path) -> Result<String, WorkError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex::encode(hash.finalize()))
}

/// What tend placed in a working directory.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Placed files by relative path.
    pub files: BTreeMap<String, Placed>,
}

/// One file tend placed, as it left it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placed {
    /// SHA-256 of what tend wrote.
    pub digest: String,
    /// Size written.
    pub size: u64,
    /// Modification time after writing, in nanoseconds since the epoch:
    /// with the size, tells an untouched file without reading it.
    pub mtime: i128,
}

/// A stack's working directory on a host whose files tend can reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkDir {
    /// The folder relative binds resolve into.
    pub root: PathBuf,
    /// The manifest file, beside the folder (not visible to containers).
    pub manifest: PathBuf,
    /// Where displaced host copies of tracked files are kept.
    pub displaced: PathBuf,
}

impl WorkDir {
    /// The working directory of `stack` on `host` under `root` (the
    /// daemon's `--stacks-dir`, by default `DATA/stacks`): `root/<host>/<stack>`.
    pub fn under(root: &Path, host: &str, stack: &str) -> Self {
        let base = root.join(host);
        WorkDir {
            root: base.join(stack),
            manifest: base.join(format!("{stack}.manifest.json")),
            displaced: base.join(".displaced").join(stack),
        }
    }

    /// The folder itself, without a manifest (`tend apply`: binds resolve
    /// into the config folder, as compose resolves them; nothing is placed).
    pub fn folder(root: PathBuf) -> Self {
        WorkDir {
            root,
            manifest: PathBuf::new(),
            displaced: PathBuf::new(),
        }
    }

    /// Reads the manifest; a missing one is empty, a broken one is an error.
    pub fn manifest(&self) -> Result<Manifest, WorkError> {
        if self.manifest.as_os_str().is_empty() {
            return Ok(Manifest::default());
        }
        match std::fs::read(&self.manifest) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| WorkError::Io {
                path: self.manifest.clone(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(io(&self.manifest)(e)),
        }
    }
}

/// What differs between the commit's tracked files and the working
/// directory; reads only. `binds` are the stack's relative bind sources
/// (normalised), created as folders when missing.
pub fn diff(
    tracked: &Tracked,
    dir: &WorkDir,
    host_owned: &[String],
    binds: &[String],
) -> Result<Vec<FileChange>, WorkError> {
    let manifest = dir.manifest()?;
    let mut out = Vec::new();
    let change = |kind, path: &str, reason: String| FileChange {
        kind,
        path: path.to_owned(),
        reason,
    };
    for (path, f) in &tracked.files {
        let owned = host_owned.iter().any(|h| under(path, h));
        let on_disk = dir.root.join(path);
        let placed = manifest.files.get(path);
        let now = current(&on_disk, placed)?;
        let Some(now) = now else {
            let (kind, reason) = match placed {
                Some(_) if !owned => (
                    FileKind::Restore,
                    format!("drift: {path} deleted on the host; restored from git"),
                ),
                Some(_) => (
                    FileKind::Place,
                    format!("{path} (host_owned) is missing; placed from git"),
                ),
                None => (FileKind::Place, format!("{path} is new in git")),
            };
            out.push(change(kind, path, reason));
            continue;
        };
        if placed.is_none() && now == f.digest && !owned {
            let reason = format!("{path} already holds git's content; recorded as placed");
            out.push(change(FileKind::Place, path, reason));
            continue;
        }
        if now == f.digest || owned {
            continue;
        }
        if placed.is_some_and(|p| p.digest == now) {
            out.push(change(
                FileKind::Place,
                path,
                format!("{path} changed in git"),
            ));
        } else {
            let reason = format!("drift: {path} changed on the host; restored from git");
            out.push(change(FileKind::Restore, path, reason));
        }
    }
    for (path, p) in &manifest.files {
        if tracked.files.contains_key(path) {
            continue;
        }
        let on_disk = dir.root.join(path);
        let reason = match current(&on_disk, Some(p))? {
            Some(now) if now == p.digest => format!("{path} was deleted in git"),
            Some(_) => format!("{path} was deleted in git; kept on the host (changed there)"),
            None => format!("{path} was deleted in git and on the host"),
        };
        out.push(change(FileKind::Remove, path, reason));
    }
    for b in binds {
        let path = dir.root.join(b);
        let covered = tracked.files.keys().any(|p| under(p, b));
        if !covered && std::fs::symlink_metadata(&path).is_err() {
            let name = if b.is_empty() { "." } else { b };
            let reason = format!("bind source ./{name} does not exist; created as a folder");
            out.push(change(FileKind::CreateFolder, b, reason));
        }
    }
    Ok(out)
}

/// The digest of the file at `path` now, `None` when absent; the stat of
/// `placed` spares reading a file tend left untouched.
fn current(path: &Path, placed: Option<&Placed>) -> Result<Option<String>, WorkError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    if !meta.is_file() {
        // A folder or a link where a tracked file should be: not git's.
        return Ok(Some(String::new()));
    }
    if let Some(p) = placed
        && p.size == meta.len()
        && p.mtime == mtime(&meta)
    {
        return Ok(Some(p.digest.clone()));
    }
    digest_file(path).map(Some)
}

/// Modification time in nanoseconds since the epoch.
pub(crate) fn mtime(meta: &std::fs::Metadata) -> i128 {
    use std::os::unix::fs::MetadataExt;
    i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec())
}

#[cfg(test)]
mod tests;

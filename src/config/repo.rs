//! The config repository on disk: reading its files and checking the paths
//! the config names, so that nothing is read from outside the repository
//! (no `..`, no absolute path, no symlink that points out).

use super::node::{self, MAX_FILE_BYTES, Pos, SyntaxError};
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// What a path named in the config must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A regular file.
    File,
    /// A file or a folder (an Ansible inventory may be either).
    FileOrDir,
    /// A regular file with an executable bit.
    Executable,
}

/// A config repository checked out in a folder.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// Opens the folder `dir`; fails when it does not exist or is not a folder.
    pub fn open(dir: &Path) -> io::Result<Repo> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::NotADirectory,
                "not a directory",
            ));
        }
        Ok(Repo { root })
    }

    /// The canonical root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Sorted names of the entries of a repository folder (empty if absent).
    pub fn list(&self, rel: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root.join(rel)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }

    /// True when `rel` exists inside the repository (symlinks not followed).
    pub fn exists(&self, rel: &str) -> bool {
        fs::symlink_metadata(self.root.join(rel)).is_ok()
    }

    /// True when `rel` is a folder (symlinks followed).
    pub fn is_dir(&self, rel: &str) -> bool {
        self.root.join(rel).is_dir()
    }

    /// Reads a config file as text, refusing files outside the repository,
    /// files over 1 MiB and bytes that are not UTF-8.
    pub fn read(&self, rel: &str) -> Result<String, SyntaxError> {
        let at_start = |message: String| SyntaxError {
            pos: Pos::START,
            message,
        };
        let path = self.inside(rel).map_err(at_start)?;
        let meta = fs::metadata(&path).map_err(|e| at_start(format!("cannot read file: {e}")))?;
        if !meta.is_file() {
            return Err(at_start("not a regular file".into()));
        }
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(at_start(format!(
                "file is {} bytes; config files are limited to {MAX_FILE_BYTES} bytes (1 MiB)",
                meta.len()
            )));
        }
        let bytes = fs::read(&path).map_err(|e| at_start(format!("cannot read file: {e}")))?;
        node::text_of(&bytes).map(str::to_owned)
    }

    /// Checks a path written in the config and returns it relative to the root.
    pub fn check(&self, rel: &str, want: Want) -> Result<PathBuf, String> {
        let path = self.inside(rel)?;
        let meta =
            fs::metadata(&path).map_err(|_| format!("`{rel}` does not exist in the repository"))?;
        match want {
            Want::FileOrDir => {}
            Want::File | Want::Executable if !meta.is_file() => {
                return Err(format!("`{rel}` is not a regular file"));
            }
            Want::Executable if !is_executable(&meta) => {
                return Err(format!(
                    "`{rel}` is not executable (run `chmod +x {rel}` or `git update-index --chmod=+x {rel}`)"
                ));
            }
            _ => {}
        }
        Ok(PathBuf::from(rel))
    }

    /// The absolute path of `rel`, if it stays inside the repository.
    fn inside(&self, rel: &str) -> Result<PathBuf, String> {
        let p = Path::new(rel);
        if rel.is_empty() {
            return Err("empty path".into());
        }
        if p.is_absolute() {
            return Err(format!(
                "`{rel}` is absolute; paths are relative to the repository root"
            ));
        }
        if p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!(
                "`{rel}` leaves the repository (`..` is not allowed)"
            ));
        }
        let full = self.root.join(p);
        match full.canonicalize() {
            Ok(real) if !real.starts_with(&self.root) => Err(format!(
                "`{rel}` is a symlink that points outside the repository"
            )),
            _ => Ok(full),
        }
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &fs::Metadata) -> bool {
    true
}

//! Test helpers: temp folders with files, real git repositories, and a
//! runner for the built `tend` binary that prints what it did on failure.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary folder, removed on drop.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A new empty folder.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::tempdir().expect("create temp dir"),
        }
    }

    /// A new folder holding a copy of `src` (e.g. a fixture).
    pub fn copy_of(src: &Path) -> Dir {
        let dir = Dir::new();
        copy_tree(src, dir.path());
        dir
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `contents` to `rel`, creating parent folders.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, contents).expect("write file");
        path
    }
}

pub fn copy_tree(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).expect("mkdir");
    for entry in fs::read_dir(src).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let to = dst.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &to);
        } else {
            fs::copy(entry.path(), &to).expect("copy file");
        }
    }
}

/// Root of the source tree.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `scripts/setup` put under `~/.cache/tend/REL`, or the path the
/// environment variable `env` names instead.
pub fn setup_cache(env: &str, rel: &str) -> PathBuf {
    std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap_or_default())
            .join(".cache/tend")
            .join(rel)
    })
}

/// A fixture folder under `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    project().join("tests/fixtures").join(name)
}

/// What a `tend` run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs the built `tend` with `args` in `cwd`.
pub fn tend(cwd: &Path, args: &[&str]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(args)
        .current_dir(cwd)
        .env("TEND_LOG", "warn")
        .output()
        .expect("run tend binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Run {
    /// Asserts the exit code, showing everything the run printed if it differs.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "tend exited {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs `git` in `cwd`; panics with its output when it fails, or with the
/// setup hint when git is missing.
pub fn git(cwd: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .env("GIT_AUTHOR_NAME", "tend-test")
        .env("GIT_AUTHOR_EMAIL", "test@tend.invalid")
        .env("GIT_COMMITTER_NAME", "tend-test")
        .env("GIT_COMMITTER_EMAIL", "test@tend.invalid")
        .output()
        .expect("git is not installed: run scripts/test (it installs git)");
    assert!(
        out.status.success(),
        "git {args:?} failed in {}\n{}{}",
        cwd.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A real git repository with everything in `dir` committed; returns a
/// fresh clone of it (what tend would check out).
pub fn commit_and_clone(dir: &Dir, message: &str) -> Dir {
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["commit", "-q", "-m", message]);
    let clone = Dir::new();
    let src = format!("file://{}", dir.path().display());
    git(clone.path(), &["clone", "-q", &src, "."]);
    clone
}

pub mod age_keys;
pub mod docker;
pub mod http;
pub mod procs;
pub mod recorder;
pub mod smtp;
pub mod sops_seal;

/// A real git remote: a bare repository (`remote.git`, default branch
/// `main`) and a working clone (`work/`) to commit and push from.
pub struct Remote {
    /// Holds both repositories.
    pub dir: Dir,
}

impl Remote {
    /// An empty remote and its working clone.
    pub fn new() -> Remote {
        let dir = Dir::new();
        git(
            dir.path(),
            &["init", "-q", "--bare", "-b", "main", "remote.git"],
        );
        git(dir.path(), &["clone", "-q", "remote.git", "work"]);
        git(&dir.path().join("work"), &["checkout", "-q", "-b", "main"]);
        Remote { dir }
    }

    /// A remote whose first commit holds a copy of `src`.
    pub fn with(src: &Path, message: &str) -> Remote {
        let remote = Remote::new();
        copy_tree(src, &remote.work());
        remote.commit_push(message);
        remote
    }

    /// The bare repository.
    pub fn bare(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    /// `file://` URL of the bare repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.bare().display())
    }

    /// The working clone.
    pub fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }

    /// Writes a file in the working clone.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.work().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// Commits everything and pushes to `main`; returns the commit id.
    pub fn commit_push(&self, message: &str) -> String {
        let work = self.work();
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "--allow-empty", "-m", message]);
        git(&work, &["push", "-q", "-f", "origin", "HEAD:main"]);
        git(&work, &["rev-parse", "HEAD"]).trim().to_owned()
    }

    /// Drops the last commit and force-pushes a different one in its place.
    pub fn rewrite_last(&self, message: &str) -> String {
        git(&self.work(), &["reset", "-q", "--hard", "HEAD~1"]);
        self.write("rewritten.txt", message);
        self.commit_push(message)
    }
}

/// Asserts that `text` holds every one of `wants`, naming the first missing.
pub fn assert_contains_all(text: &str, wants: &[&str]) {
    for want in wants {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
}

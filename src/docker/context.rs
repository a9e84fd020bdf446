//! A build context: the files of a folder that `.dockerignore` leaves in,
//! as the docker CLI sends them (patterns relative to the context, `*`,
//! `?`, `[…]`, `**` across folders, `!` exceptions, the last match
//! deciding, a folder's exclusion covering what is inside it; the
//! Dockerfile and `.dockerignore` always sent). Its digest decides whether
//! an image must be rebuilt; its tar is the body of the engine's build call.
//!
//! The digest covers what the tar holds — paths, modes, link targets and
//! contents, in path order — so the same folder always gives the same
//! digest and any change to what the builder would see gives another. Owners and times are left out: a fresh
//! clone of the same commit must not rebuild. A context over
//! [`MAX_CONTEXT_BYTES`] is refused rather than sent in part.

use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Largest context tend sends, in bytes.
pub const MAX_CONTEXT_BYTES: u64 = 512 << 20;
/// Name the inline Dockerfile gets inside the context.
pub const INLINE_DOCKERFILE: &str = ".tend.Dockerfile";

/// Why a context could not be read (the service's change fails with it,
/// and its running container stays).
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// A file or folder could not be read.
    #[error("build context {path}: {cause}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What the OS said.
        cause: std::io::Error,
    },
    /// More than [`MAX_CONTEXT_BYTES`].
    #[error("build context {0} holds more than 512 MiB")]
    TooLarge(PathBuf),
}

/// One entry of a context.
struct Entry {
    /// Path inside the context, `/`-separated.
    rel: String,
    /// Path on tend's side.
    abs: PathBuf,
    /// Its metadata (not following links: a link is sent as a link).
    meta: fs::Metadata,
}

/// The files of `dir` that `.dockerignore` leaves in, sorted by path;
/// `keep` are always sent (the Dockerfile). Links are kept as links (never
/// followed out of the context), and the sizes are summed as the walk goes,
/// so a context over [`MAX_CONTEXT_BYTES`] stops early.
fn entries(dir: &Path, keep: &[&str]) -> Result<Vec<Entry>, ContextError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |cause| ContextError::Io { path, cause }
    };
    let ignore = match fs::read_to_string(dir.join(".dockerignore")) {
        Ok(text) => patterns(&text),
        Err(_) => Vec::new(),
    };
    let mut out = Vec::new();
    let mut todo = vec![String::new()];
    let mut bytes = 0u64;
    while let Some(rel) = todo.pop() {
        let here = dir.join(&rel);
        for item in fs::read_dir(&here).map_err(io(&here))? {
            let item = item.map_err(io(&here))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let abs = item.path();
            let meta = fs::symlink_metadata(&abs).map_err(io(&abs))?;
            let always = keep.contains(&path.as_str()) || path == ".dockerignore";
            if !always
                && excluded(&ignore, &path)
                && !(meta.is_dir() && reincluded_below(&ignore, &path))
            {
                continue;
            }
            if meta.is_dir() {
                todo.push(path.clone());
            } else {
                bytes += meta.len();
                if bytes > MAX_CONTEXT_BYTES {
                    return Err(ContextError::TooLarge(dir.to_owned()));
                }
            }
            out.push(Entry {
                rel: path,
                abs,
                meta,
            });
        }
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

/// A digest over the context's paths, modes, link targets and contents
/// (the first 16 bytes of a sha256, in hex).
pub fn digest(dir: &Path, dockerfile: &str) -> Result<String, ContextError> {
    let mut h = Sha256::new();
    for e in entries(dir, &[dockerfile])? {
        h.update(e.rel.as_bytes());
        h.update([0]);
        h.update(format!("{:o}", e.meta.permissions().mode()).as_bytes());
        h.update([0]);
        if e.meta.file_type().is_symlink() {
            let target = fs::read_link(&e.abs).map_err(|cause| ContextError::Io {
                path: e.abs.clone(),
                cause,
            })?;
            h.update(target.as_os_str().as_encoded_bytes());
        } else if e.meta.is_file() {
            let bytes = fs::read(&e.abs).map_err(|cause| ContextError::Io {
                path: e.abs.clone(),
                cause,
            })?;
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
        h.update([0]);
    }
    Ok(hex::encode(&h.finalize()[..16]))
}

/// The context as a tar; `inline` is added as [`INLINE_DOCKERFILE`] (a
/// `dockerfile_inline:` service names it as its Dockerfile). The entries
/// are the ones [`digest`] covers, in the same order, so what is built is
/// what was hashed. Runs on the blocking pool (it reads every file).
pub fn tar(dir: &Path, dockerfile: &str, inline: Option<&str>) -> Result<Vec<u8>, ContextError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |cause| ContextError::Io { path, cause }
    };
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    for e in entries(dir, &[dockerfile])? {
        b.append_path_with_name(&e.abs, &e.rel)
            .map_err(io(&e.abs))?;
    }
    if let Some(text) = inline {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        b.append_data(&mut header, INLINE_DOCKERFILE, text.as_bytes())
            .map_err(io(dir))?;
    }
    b.into_inner().map_err(io(dir))
}

/// `.dockerignore` lines as (exception, pattern segments): comments and
/// blank lines dropped, a leading `/` and `./` ignored, as the CLI reads
/// them.
fn patterns(text: &str) -> Vec<(bool, Vec<String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (not, p) = l.strip_prefix('!').map_or((false, l), |p| (true, p.trim()));
            let segments = p
                .trim_start_matches('/')
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .map(str::to_owned)
                .collect();
            (not, segments)
        })
        .filter(|(_, s): &(bool, Vec<String>)| !s.is_empty())
        .collect()
}

/// Whether the last pattern matching `path` (or one of its folders)
/// excludes it: patterns are tried in order and the last that matches
/// decides, so `!keep.txt` after `*.txt` keeps that one file.
fn excluded(ignore: &[(bool, Vec<String>)], path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let mut out = false;
    for (not, p) in ignore {
        let hit = (1..=parts.len()).any(|n| glob(p, &parts[..n]));
        if hit {
            out = !not;
        }
    }
    out
}

/// Whether an exception pattern may re-include something inside folder
/// `path`: one deeper than the folder, or one with `**`. Then an excluded
/// folder is still walked, as the docker CLI does, instead of being
/// skipped whole.
fn reincluded_below(ignore: &[(bool, Vec<String>)], path: &str) -> bool {
    let depth = path.split('/').count();
    ignore
        .iter()
        .any(|(not, p)| *not && (p.len() > depth || p.iter().any(|s| s == "**")))
}

/// Path segments against pattern segments; `**` spans any number of them
/// (none included), every other segment matches exactly one.
fn glob(p: &[String], s: &[&str]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((first, rest)) if first == "**" => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((first, rest)) => s
            .split_first()
            .is_some_and(|(h, t)| segment(first.as_bytes(), h.as_bytes()) && glob(rest, t)),
    }
}

/// One segment: `*`, `?`, `[…]` (with `^`/`!` and ranges), `\` escapes.
/// `*` and `?` never cross a `/` (the segments are split already); an
/// unclosed `[` matches itself.
fn segment(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| segment(rest, &s[i..])),
        Some((b'?', rest)) => !s.is_empty() && segment(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some(end) = rest.iter().position(|c| *c == b']') else {
                return s.first() == Some(&b'[') && segment(rest, &s[1..]);
            };
            let Some((&c, tail)) = s.split_first() else {
                return false;
            };
            let (negate, set) = match rest[..end].split_first() {
                Some((b'^' | b'!', set)) => (true, set),
                _ => (false, &rest[..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= set[i] <= c && c <= set[i + 2];
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && segment(&rest[end + 1..], tail)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == Some(&rest[0]) && segment(&rest[1..], &s[1..])
        }
        Some((c, rest)) => s.first() == Some(c) && segment(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::{excluded, patterns};

    #[test]
    fn dockerignore_rules() {
        let p =
            patterns("# comment\nnode_modules\n*.log\n!keep.log\n**/*.tmp\n/secret\ndocs/[a-c]*\n");
        for (path, out) in [
            ("node_modules", true),
            ("node_modules/x/y.js", true),
            ("a.log", true),
            ("keep.log", false),
            ("sub/a.log", false),
            ("x/y/z.tmp", true),
            ("z.tmp", true),
            ("secret", true),
            ("src/secret", false),
            ("docs/b.md", true),
            ("docs/d.md", false),
            ("main.rs", false),
        ] {
            assert_eq!(excluded(&p, path), out, "{path}");
        }
    }
}

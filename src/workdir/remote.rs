//! Working directories on engines tend reaches only through the Engine
//! API (`tcp://`, later `ssh://`): each relative bind folder is a named
//! volume of the stack (`<stack>_wd-<folder>`) that tend fills with the
//! tracked files through the archive endpoint; a single tracked file is
//! copied into its container before the first start. Nothing is installed
//! on the host. What containers write into the volumes is never touched;
//! the manifest (kept on tend's side) says what tend placed, so only files
//! that changed in git are sent again. Host edits cannot be seen without
//! running something there, and files deleted in git stay in the volume:
//! both are documented deviations from the local working directory.

use super::{FileChange, FileKind, Manifest, Tracked, WorkError, under};

/// The volume key of the bind folder `rel` (`""` is the stack folder).
pub fn volume_key(rel: &str) -> String {
    if rel.is_empty() {
        return "wd".to_owned();
    }
    let slug: String = rel
        .chars()
        .map(|c| match c {
            '/' => '.',
            c if c.is_ascii_alphanumeric() || "_.-".contains(c) => c,
            _ => '_',
        })
        .collect();
    format!("wd-{slug}")
}

/// The bind sources of `binds` that are folders (not single tracked files).
pub fn folders<'a>(tracked: &Tracked, binds: &'a [String]) -> Vec<&'a str> {
    binds
        .iter()
        .filter(|b| !tracked.files.contains_key(b.as_str()))
        .map(String::as_str)
        .collect()
}

/// The tracked files under a bind folder whose content the manifest does
/// not have yet (new or changed in git); host-owned files only once.
pub fn diff(
    tracked: &Tracked,
    manifest: &Manifest,
    host_owned: &[String],
    binds: &[String],
) -> Vec<FileChange> {
    let dirs = folders(tracked, binds);
    tracked
        .files
        .iter()
        .filter(|(p, _)| dirs.iter().any(|d| under(p, d)))
        .filter_map(|(path, f)| {
            let owned = host_owned.iter().any(|h| under(path, h));
            let reason = match manifest.files.get(path) {
                None => format!("{path} is new in git"),
                Some(p) if p.digest != f.digest && !owned => format!("{path} changed in git"),
                Some(_) => return None,
            };
            Some(FileChange {
                kind: FileKind::Place,
                path: path.clone(),
                reason,
            })
        })
        .collect()
}

/// One entry of an archive: its path inside, mode, owner and content.
pub struct Entry {
    /// Path inside the archive, `/`-separated, no leading `/`.
    pub path: String,
    /// Permission bits.
    pub mode: u32,
    /// Owner user and group ids (root's by default).
    pub owner: (u64, u64),
    /// The bytes.
    pub data: Vec<u8>,
}

/// A tar archive of `entries`, as the Engine's archive endpoint takes it.
pub fn tar(entries: &[Entry]) -> Result<Vec<u8>, WorkError> {
    let mut b = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for e in entries {
        let io = |source: std::io::Error| WorkError::Io {
            path: e.path.clone().into(),
            source,
        };
        let mut h = tar::Header::new_ustar();
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_uid(e.owner.0);
        h.set_gid(e.owner.1);
        h.set_mtime(now);
        b.append_data(&mut h, &e.path, e.data.as_slice())
            .map_err(io)?;
    }
    b.into_inner().map_err(|source| WorkError::Io {
        path: "archive".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_read_back_with_the_system_tar() {
        let long = format!("{}/file.txt", "d".repeat(120));
        let entries = [
            Entry {
                path: "config/app.conf".into(),
                mode: 0o644,
                owner: (0, 0),
                data: b"a=1\n".to_vec(),
            },
            Entry {
                path: long.clone(),
                mode: 0o755,
                owner: (0, 0),
                data: vec![b'x'; 700],
            },
        ];
        let bytes = tar(&entries).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.tar");
        std::fs::write(&file, bytes).unwrap();
        let ok = std::process::Command::new("tar")
            .args([
                "-xf",
                file.to_str().unwrap(),
                "-C",
                dir.path().to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(ok.success());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config/app.conf")).unwrap(),
            "a=1\n"
        );
        assert_eq!(std::fs::read(dir.path().join(&long)).unwrap().len(), 700);
        assert_eq!(volume_key("config/sonarr"), "wd-config.sonarr");
        assert_eq!(volume_key(""), "wd");
    }
}

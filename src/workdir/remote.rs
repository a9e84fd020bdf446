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

use super::{FileChange, FileKind, Manifest, Tracked, under};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_keys() {
        assert_eq!(volume_key("config/sonarr"), "wd-config.sonarr");
        assert_eq!(volume_key(""), "wd");
    }
}

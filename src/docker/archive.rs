//! Tar archives of files given in memory, as the Engine's archive endpoint
//! takes them: what tend copies into containers and volumes.
//!
//! Plain ustar entries with the given mode and owner, stamped with the
//! time of packing; the folders on the way are not entries of their own
//! (they come from the paths when the engine extracts them).

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

/// A tar archive of `entries`, as the Engine's archive endpoint takes it;
/// an entry that cannot be added (a path too long for ustar) fails the
/// whole archive, naming its path.
pub fn tar(entries: &[Entry]) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for e in entries {
        let mut h = tar::Header::new_ustar();
        h.set_size(e.data.len() as u64);
        h.set_mode(e.mode);
        h.set_uid(e.owner.0);
        h.set_gid(e.owner.1);
        h.set_mtime(now);
        b.append_data(&mut h, &e.path, e.data.as_slice())
            .map_err(|err| std::io::Error::new(err.kind(), format!("{}: {err}", e.path)))?;
    }
    b.into_inner()
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
    }
}

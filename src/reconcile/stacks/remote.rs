//! Placing a stack's tracked files on an engine tend reaches only through
//! its API: the changed files of each bind folder go, as one archive per
//! folder, into that folder's volume (`docker::files::fill_volumes`); the
//! manifest on tend's side then records them, so the next pass sends
//! nothing. See `workdir::remote` for the design and its deviations.

use super::StacksError;
use super::work::StackWork;
use crate::docker::Engine;
use crate::docker::apply::Step;
use crate::docker::archive::{Entry, tar};
use crate::plan::{Change, Target};
use crate::workdir::remote::{folders, volume_key};
use crate::workdir::{Placed, under};
use std::collections::BTreeMap;

/// Carries out `files` (place-file changes) for `target` on `engine`: all
/// of them or none — one error fails every file step, and the manifest is
/// only written when every volume took its archive.
pub async fn place_files(
    engine: &Engine,
    target: &Target,
    work: &StackWork,
    files: Vec<Change>,
) -> Vec<Step> {
    if files.is_empty() {
        return Vec::new();
    }
    let outcome = send(engine, target, work, &files).await;
    files
        .into_iter()
        .map(|change| Step {
            change,
            error: outcome.as_ref().err().map(ToString::to_string),
            output: Vec::new(),
        })
        .collect()
}

/// Sends the changed tracked files, one archive per bind folder, into
/// their volumes, then records them in the manifest. A file under several
/// bind folders goes into each; the helper container that carries them
/// uses the stack's first image, which the host has or pulls.
async fn send(
    engine: &Engine,
    target: &Target,
    work: &StackWork,
    files: &[Change],
) -> Result<(), StacksError> {
    let dirs = folders(&work.tracked, &target.binds);
    let mut archives: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    let mut placed = Vec::new();
    for c in files {
        let Some(f) = work.tracked.files.get(&c.target) else {
            continue;
        };
        let data = std::fs::read(&f.source).map_err(|e| StacksError::File {
            path: c.target.clone(),
            cause: e.to_string(),
        })?;
        for d in dirs.iter().filter(|d| under(&c.target, d)) {
            let inside = if d.is_empty() {
                c.target.clone()
            } else {
                c.target[d.len() + 1..].to_owned()
            };
            archives.entry(volume_key(d)).or_default().push(Entry {
                path: inside,
                mode: if f.exec { 0o755 } else { 0o644 },
                owner: (0, 0),
                data: data.clone(),
            });
        }
        let record = Placed {
            digest: f.digest.clone(),
            size: f.size,
            mtime: 0,
        };
        placed.push((c.target.clone(), record));
    }
    let mut uploads = Vec::new();
    for (key, entries) in archives {
        let archive = tar(&entries).map_err(|e| StacksError::File {
            path: key.clone(),
            cause: e.to_string(),
        })?;
        uploads.push((key, archive));
    }
    let image = target
        .services
        .values()
        .map(|s| s.spec.image.clone())
        .next()
        .ok_or(StacksError::NoCarrier)?;
    crate::docker::files::fill_volumes(engine, &target.name, &image, &uploads)
        .await
        .map_err(|e| StacksError::Place {
            host: target.host.clone(),
            cause: e.to_string(),
        })?;
    let manifest_error = |e: crate::workdir::WorkError| StacksError::File {
        path: "manifest".into(),
        cause: e.to_string(),
    };
    let mut manifest = work.dir.manifest().map_err(manifest_error)?;
    manifest.files.extend(placed);
    crate::workdir::sync::write_manifest(&work.dir, &manifest).map_err(manifest_error)
}

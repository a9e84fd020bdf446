//! Files into containers and volumes through the Engine API alone, for
//! engines whose file system tend does not share: the archive endpoint of
//! a container that is created and never started. Nothing runs on the
//! host and nothing is installed there.
//!
//! The helper container carries a label of its own and not
//! `tend.managed`, so no plan ever sees it, and it is removed (by name)
//! before and after each use: an interrupted fill leaves nothing that a
//! later one trips on. Its entrypoint does not exist in the image on
//! purpose — it is never started, so nothing of the image runs.

use super::ops::ensure_image;
use super::{DockerError, Engine, not_found};
use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType};
use bollard::query_parameters::{
    CreateContainerOptions, RemoveContainerOptions, UploadToContainerOptions,
};
use std::collections::HashMap;

/// Label of the helper container (no `tend.managed`: plans never see it),
/// with the project it fills volumes for as its value.
pub const FILES_LABEL: &str = "tend.files";

/// Extracts `tar` at `path` in container `id` (created or running); the
/// folders on the way must exist.
pub async fn upload(e: &Engine, id: &str, path: &str, tar: Vec<u8>) -> Result<(), DockerError> {
    e.mutating()
        .upload_to_container(
            id,
            Some(UploadToContainerOptions {
                path: path.to_owned(),
                ..Default::default()
            }),
            bollard::body_full(bytes::Bytes::from(tar)),
        )
        .await?;
    Ok(())
}

/// Fills the stack's volumes (`<project>_<key>`, created with the stack's
/// labels when missing) with archives: `uploads` are (volume key, tar).
/// A helper container of `image` mounts them, is never started, and is
/// removed afterwards. The image is pulled first when the host lacks it.
/// Files already in a volume and not in an archive are left as they are
/// (what the stack's containers wrote there stays).
pub async fn fill_volumes(
    e: &Engine,
    project: &str,
    image: &str,
    uploads: &[(String, Vec<u8>)],
) -> Result<(), DockerError> {
    ensure_image(e, image).await?;
    let mut keys: Vec<&str> = uploads.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    for key in &keys {
        super::ops::create_volume(e, project, key, &crate::model::Resource::default()).await?;
    }
    let name = format!("{project}-tend-files");
    remove(e, &name).await?;
    let mounts = keys
        .iter()
        .map(|k| Mount {
            target: Some(format!("/tend-files/{k}")),
            source: Some(format!("{project}_{k}")),
            typ: Some(MountType::VOLUME),
            ..Default::default()
        })
        .collect();
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(vec!["/tend-files-is-never-started".into()]),
        labels: Some(HashMap::from([(
            FILES_LABEL.to_owned(),
            project.to_owned(),
        )])),
        host_config: Some(HostConfig {
            mounts: Some(mounts),
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let opts = CreateContainerOptions {
        name: Some(name.clone()),
        ..Default::default()
    };
    let id = e.mutating().create_container(Some(opts), body).await?.id;
    let mut result = Ok(());
    for (key, tar) in uploads {
        result = upload(e, &id, &format!("/tend-files/{key}"), tar.clone()).await;
        if result.is_err() {
            break;
        }
    }
    let removed = remove(e, &id).await;
    result.and(removed)
}

/// Removes the helper container `id` (gone already is fine); its volumes
/// stay, with what they were filled with.
async fn remove(e: &Engine, id: &str) -> Result<(), DockerError> {
    let opts = RemoveContainerOptions {
        force: true,
        ..Default::default()
    };
    match e.mutating().remove_container(id, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(err) if not_found(&err) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// Copies each (container path, file on tend's side) into container `id`
/// before its first start: single tracked files bound on a remote engine.
/// All go in one archive extracted at `/`, mode 0755 for an executable
/// file and 0644 otherwise; a file that cannot be read fails the change.
pub async fn copy_in(
    e: &Engine,
    id: &str,
    files: &[(String, std::path::PathBuf)],
) -> Result<(), DockerError> {
    use super::archive::{Entry, tar};
    use std::os::unix::fs::PermissionsExt;
    if files.is_empty() {
        return Ok(());
    }
    let mut entries = Vec::new();
    for (target, from) in files {
        let read = std::fs::read(from).and_then(|data| Ok((data, std::fs::metadata(from)?)));
        let (data, meta) =
            read.map_err(|err| DockerError::Api(format!("{}: {err}", from.display())))?;
        let exec = meta.permissions().mode() & 0o111 != 0;
        entries.push(Entry {
            path: target.trim_start_matches('/').to_owned(),
            mode: if exec { 0o755 } else { 0o644 },
            owner: (0, 0),
            data,
        });
    }
    let archive = tar(&entries).map_err(|err| DockerError::Api(err.to_string()))?;
    upload(e, id, "/", archive).await
}

/// Writes `texts` (secrets and configs given as text) into container `id`
/// before it first starts, with their modes and owners. The texts exist
/// only in the request: nothing is written on tend's disk.
pub async fn write_in(
    e: &Engine,
    id: &str,
    texts: &[crate::model::Inject],
) -> Result<(), DockerError> {
    use super::archive::{Entry, tar};
    if texts.is_empty() {
        return Ok(());
    }
    let entries: Vec<Entry> = texts
        .iter()
        .map(|t| Entry {
            path: t.target.trim_start_matches('/').to_owned(),
            mode: t.mode,
            owner: (u64::from(t.uid), u64::from(t.gid)),
            data: t.content.as_bytes().to_vec(),
        })
        .collect();
    let archive = tar(&entries).map_err(|err| DockerError::Api(err.to_string()))?;
    upload(e, id, "/", archive).await
}

//! Building a service's image through the engine's build API: the context
//! (see [`super::context`]) sent as a tar, the image tagged as the service
//! names it and labelled with the digest it was built from, so an unchanged
//! context is never built again. The builder's output is kept for the apply
//! log; a failed build is an error carrying the builder's message, raised
//! before the old container is touched.
//!
//! Built images are tagged with the name the service gives (or
//! `<project>-<service>` without `image:`), so `docker compose` and tend
//! name them alike. Nothing is pushed: an image built here stays on the
//! host that built it.

use super::context::{self, INLINE_DOCKERFILE};
use super::{DockerError, Engine};
use crate::model::Build;
use crate::model::BuildTarget;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;
use std::collections::HashMap;

/// Label of a built image: the digest of its context and settings (the
/// image is rebuilt when it differs or is missing).
pub const DIGEST_LABEL: &str = "tend.build-digest";
/// Most builder output lines kept for the apply log (the newest; a long
/// build's start is dropped first).
const KEEP_LINES: usize = 200;

/// The Dockerfile inside the context: `dockerfile:` as written, the inline
/// one's name for `dockerfile_inline:`, else `Dockerfile`.
pub fn dockerfile(b: &Build) -> &str {
    match (&b.dockerfile_inline, &b.dockerfile) {
        (Some(_), _) => INLINE_DOCKERFILE,
        (None, Some(f)) => f.trim_start_matches("./"),
        (None, None) => "Dockerfile",
    }
}

/// Builds `image` unless the engine has it built from `t.digest`; returns
/// the builder's output (empty when nothing was built). The build's own
/// error — a failed `RUN`, a missing Dockerfile — is an error carrying the
/// builder's message and its last 20 lines, so the apply log says what
/// went wrong.
///
/// The context is packed on the blocking pool; the build runs with the
/// service's args (an arg without a value is left out, as compose leaves
/// it unset), target, network, `no_cache` and `pull`, and removes its
/// intermediate containers even when it fails. The built image carries the
/// service's labels and [`DIGEST_LABEL`], which is what the check above
/// reads on the next pass.
pub async fn ensure_built(
    e: &Engine,
    image: &str,
    b: &Build,
    t: &BuildTarget,
) -> Result<Vec<String>, DockerError> {
    if let Ok(found) = e.api().inspect_image(image).await {
        let labels = found.config.and_then(|c| c.labels).unwrap_or_default();
        if labels.get(DIGEST_LABEL) == Some(&t.digest) {
            return Ok(Vec::new());
        }
    }
    let (dir, file, inline) = (
        t.context.clone(),
        dockerfile(b).to_owned(),
        b.dockerfile_inline.clone(),
    );
    let body = tokio::task::spawn_blocking(move || context::tar(&dir, &file, inline.as_deref()))
        .await
        .map_err(|err| DockerError::Api(format!("build context: {err}")))?
        .map_err(|err| DockerError::Api(err.to_string()))?;
    let mut labels: HashMap<String, String> = b.labels.clone().into_iter().collect();
    labels.insert(DIGEST_LABEL.into(), t.digest.clone());
    let options = BuildImageOptions {
        dockerfile: dockerfile(b).to_owned(),
        t: Some(image.to_owned()),
        rm: true,
        forcerm: true,
        nocache: b.no_cache,
        pull: b.pull.then(|| "1".to_owned()),
        buildargs: Some(
            b.args
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
                .collect(),
        ),
        labels: Some(labels),
        target: b.target.clone().unwrap_or_default(),
        networkmode: b.network.clone(),
        ..Default::default()
    };
    e.mutations
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut stream = e
        .long()
        .build_image(options, None, Some(bollard::body_full(body.into())));
    let mut log: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let failed = |message: String, log: &[String]| {
            let tail = log[log.len().saturating_sub(20)..].join("\n");
            DockerError::Api(format!("building {image} failed: {message}\n{tail}"))
        };
        let info = match item {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerStreamError { error }) => {
                return Err(failed(error, &log));
            }
            Err(err) => return Err(failed(err.to_string(), &log)),
        };
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(failed(message, &log));
        }
        for line in info.stream.iter().flat_map(|s| s.lines()) {
            let line = line.trim_end();
            if !line.is_empty() {
                log.push(line.to_owned());
            }
        }
        if log.len() > KEEP_LINES {
            log.drain(..log.len() - KEEP_LINES);
        }
    }
    Ok(log)
}

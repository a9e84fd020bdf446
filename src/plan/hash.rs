//! The container hash: a short hash per field of what goes into the
//! container (`tend.config-parts`), and the hash over them
//! (`tend.config-hash`), so a plan can say which fields changed.

use crate::model::Service;
use crate::model::ServiceTarget;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Per-field short hashes of what goes into the container.
pub(super) fn parts(spec: &Service, env: &[String]) -> BTreeMap<String, String> {
    fn h<T: Serialize>(value: &T) -> String {
        short(&serde_json::to_string(value).unwrap_or_default())
    }
    let mut p = BTreeMap::new();
    let mut add = |k: &str, v: String| {
        p.insert(k.to_owned(), v);
    };
    add("image", h(&spec.image));
    add("command", h(&spec.command));
    add("entrypoint", h(&spec.entrypoint));
    add("environment", h(&env));
    add("ports", h(&spec.ports));
    add("volumes", h(&spec.volumes));
    add("restart", h(&spec.restart));
    add("labels", h(&spec.labels));
    add("healthcheck", h(&spec.healthcheck));
    add("networks", h(&spec.networks));
    add("user", h(&spec.user));
    add("working_dir", h(&spec.working_dir));
    add("init", h(&spec.init));
    add("stop_grace_period", h(&spec.stop_grace_period));
    for (k, v) in spec.options.parts() {
        add(&k, short(&v));
    }
    p
}

/// The container hash over its per-field parts.
pub(super) fn hash_of(parts: &BTreeMap<String, String>) -> String {
    short(&parts.iter().fold(String::new(), |mut acc, (k, v)| {
        acc.push_str(k);
        acc.push('=');
        acc.push_str(v);
        acc.push('\n');
        acc
    }))
}

impl ServiceTarget {
    /// Sets what the image is built from: the build settings and the
    /// context's digest become the `build` part of the hash, so a changed
    /// context recreates the container (after building its image).
    pub fn set_build(&mut self, context: PathBuf, files: &str) {
        let settings = serde_json::to_string(&self.spec.build).unwrap_or_default();
        let digest = short(&format!("{settings}\n{files}"));
        self.parts.insert("build".into(), digest.clone());
        self.hash = hash_of(&self.parts);
        self.build = Some(crate::model::BuildTarget { context, digest });
    }
}

/// The first 12 hex digits of a SHA-256.
pub(super) fn short(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..6])
}

//! The upgrade from content-addressed bind copies (`DATA/binds/<digest>`)
//! to working directories: while `DATA/binds` exists, each full pass (a
//! new commit, the interval; not every Docker event) first
//! stops every container that still mounts a copy and carries the copy's
//! files (what the container wrote) into the stack's working directory;
//! the plan then recreates the container on the new path. A copy is
//! removed only when no container mounts it any more.

use super::Stacks;
use super::hosts::Hosts;
use super::pass::Observation;
use crate::workdir::migrate::{carry, copy_of, remove_unused};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

impl<H: Hosts> Stacks<H> {
    /// Carries old copies into working directories; `true` when anything
    /// was carried (observe again before planning).
    pub(super) async fn migrate_binds(&mut self, obs: &Observation) -> bool {
        let binds = self.data.join("binds");
        if !binds.is_dir() {
            return false;
        }
        let mut in_use = BTreeSet::new();
        let mut carried = false;
        for (host, seen) in &obs.hosts {
            let Ok(seen) = seen else {
                // A host not observed may still mount copies: keep them all.
                return carried;
            };
            for c in &seen.containers {
                let Ok((running, mounts)) = self.hosts.mounts(host, &c.id).await else {
                    return carried;
                };
                for (source, dest) in mounts {
                    let Some(copy) = copy_of(&binds, Path::new(&source)) else {
                        continue;
                    };
                    in_use.insert(copy);
                    let Some(new) = new_source(obs, &c.project, host, &c.service, &dest) else {
                        continue;
                    };
                    if running && let Err(e) = self.hosts.stop(host, &c.id).await {
                        tracing::warn!(container = %c.name, cause = %e, "cannot stop for the upgrade");
                        continue;
                    }
                    let manifest = new.1;
                    let (old, new) = (PathBuf::from(&source), new.0);
                    let fresh = !manifest.exists();
                    let moved = tokio::task::spawn_blocking(move || carry(&old, &new, fresh)).await;
                    match moved {
                        Ok(Ok(n)) => {
                            carried = true;
                            tracing::info!(container = %c.name, files = n, from = %source, "carried state into the working directory");
                        }
                        Ok(Err(e)) => {
                            tracing::error!(container = %c.name, cause = %e, "cannot carry state")
                        }
                        Err(e) => tracing::error!(cause = %e, "cannot carry state"),
                    }
                }
            }
        }
        if !carried {
            match remove_unused(&binds, &in_use) {
                Ok(n) if n > 0 => {
                    tracing::info!(removed = n, "removed old bind copies no container mounts")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(cause = %e, "cannot remove old bind copies"),
            }
        }
        carried
    }
}

/// Where the service's mount at `dest` now comes from (a working
/// directory path), with that directory's manifest; `None` when the mount
/// is not a relative bind of the commit (then the copy is left alone).
fn new_source(
    obs: &Observation,
    stack: &str,
    host: &str,
    service: &str,
    dest: &str,
) -> Option<(PathBuf, PathBuf)> {
    let t = obs
        .targets
        .iter()
        .find(|t| t.name == stack && t.host == host)?;
    let work = obs.works.get(stack)?;
    let m = t
        .services
        .get(service)?
        .spec
        .volumes
        .iter()
        .find(|m| m.target == dest)?;
    let source = PathBuf::from(&m.source);
    source
        .starts_with(&work.dir.root)
        .then(|| (source, work.dir.manifest.clone()))
}

//! A stack removed from git (with prune): once its containers are gone,
//! a `stack-removed` event says where its data stays — its working
//! directory and named volumes are kept unless the last commit that had
//! the stack set `x-tend.remove_data: true`.

use super::Stacks;
use super::hosts::Hosts;
use super::pass::Outcome;
use crate::model::{AuditKind, Desired};
use serde_json::json;

impl<H: Hosts> Stacks<H> {
    /// Remembers each desired stack's `remove_data` (kept after it leaves git,
    /// since the commit that removes a stack no longer says what it wanted).
    pub(super) async fn remember_remove_data(&mut self, desired: &Desired) {
        let mut next = self.remove_data.clone();
        for s in &desired.stacks {
            next.insert(s.name.clone(), s.remove_data);
        }
        if next != self.remove_data {
            self.remove_data = next;
            let meta = vec![crate::reconcile::keys::STACKS_REMOVE_DATA.with(&self.remove_data)];
            self.save(meta).await;
        }
    }

    /// Tells (and, when asked for, removes the data of) the leftover
    /// stacks whose containers were all removed by this pass.
    pub(super) async fn removed(&mut self, results: &[Outcome], desired: &Desired, commit: &str) {
        for r in results {
            let leftover = !desired.stacks.iter().any(|s| s.name == r.stack);
            if !leftover || !r.ok() {
                continue;
            }
            let remove = self.remove_data.get(&r.stack).copied().unwrap_or_default();
            let Some(dir) = self.layout.dir_of(&r.host, &r.stack) else {
                continue;
            };
            let (reason, details) = if remove {
                let gone = self.hosts.remove_volumes(&r.host, &r.stack).await;
                let gone = gone.map_err(|e| e.to_string());
                let files = std::fs::remove_dir_all(&dir.root)
                    .and_then(|()| std::fs::remove_file(&dir.manifest));
                let files = files.or_else(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(e)
                    }
                });
                (
                    format!(
                        "stack {}: removed from the repository; containers, working directory and named volumes removed (remove_data is set)",
                        r.stack
                    ),
                    json!({"host": r.host, "volumes": gone.as_ref().ok(), "errors": [gone.err(), files.err().map(|e| e.to_string())]}),
                )
            } else {
                (
                    format!(
                        "stack {}: removed from the repository; containers removed, data kept in {} and its named volumes on {}",
                        r.stack,
                        dir.root.display(),
                        r.host
                    ),
                    json!({"host": r.host, "working_dir": dir.root}),
                )
            };
            self.remove_data.remove(&r.stack);
            let meta = vec![crate::reconcile::keys::STACKS_REMOVE_DATA.with(&self.remove_data)];
            self.save(meta).await;
            self.event(
                AuditKind::StackRemoved,
                Some(&r.stack),
                commit,
                reason,
                details,
            )
            .await;
        }
    }
}

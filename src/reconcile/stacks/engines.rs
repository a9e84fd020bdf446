//! The real Docker hosts: engine connections kept between passes (dropped
//! when they fail), observed in parallel each with its own time limit, and
//! the [`Hosts`] calls carried out over the Docker API.

use super::StacksError;
use super::hosts::{Act, Hosts, Look, Owned, Work, failed};
use crate::docker::apply::{Step, apply_stack};
use crate::docker::{Engine, observe::observe};
use crate::model::{Host, Observed, Unobserved};
use crate::plan::{Change, Target};
use crate::reconcile::queue::Queue;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Time limit of observing one host.
const OBSERVE_TIMEOUT: Duration = Duration::from_secs(20);

/// Connected engines, kept between passes and dropped when they fail.
pub struct Engines {
    /// Where TLS material from `${env:…}` is written for the client.
    tls_dir: PathBuf,
    /// Host name → the host as declared and its connection.
    cache: HashMap<String, (Host, Engine)>,
}

impl Engines {
    /// No connections yet; TLS material from `${env:…}` goes to `tls_dir`.
    pub fn new(tls_dir: PathBuf) -> Self {
        Engines {
            tls_dir,
            cache: HashMap::new(),
        }
    }

    /// The engine of host `name`, connecting if needed.
    pub async fn get(&mut self, name: &str, host: &Host) -> Result<Engine, Unobserved> {
        if let Some((h, e)) = self.cache.get(name)
            && h == host
        {
            return Ok(e.clone());
        }
        let e = Engine::connect(name, host, &self.tls_dir)
            .await
            .map_err(|e| Unobserved::Unreachable {
                docker: host.docker.clone(),
                cause: e.to_string(),
            })?;
        self.cache
            .insert(name.to_owned(), (host.clone(), e.clone()));
        Ok(e)
    }

    /// The connection of a host observed on this pass (`NotObserved` when
    /// it failed or was never looked at).
    fn connected(&self, host: &str) -> Result<&Engine, StacksError> {
        self.cache
            .get(host)
            .map(|(_, e)| e)
            .ok_or_else(|| StacksError::NotObserved(host.to_owned()))
    }

    /// Mutating calls made through all cached engines.
    pub fn mutations(&self) -> u64 {
        self.cache.values().map(|(_, e)| e.mutations()).sum()
    }
}

/// The engine's error as the controller's (its text, as the stack job's
/// log and the audit log show it).
fn engine_error(e: crate::docker::DockerError) -> StacksError {
    StacksError::Engine(e.to_string())
}

impl Hosts for Engines {
    /// Connects where needed, then observes every host on a task of its
    /// own under [`OBSERVE_TIMEOUT`], so one slow engine delays no other.
    /// A host that fails is dropped from the cache: the next pass connects
    /// afresh (its address or TLS material may have changed meanwhile).
    async fn observe(&mut self, looks: Vec<Look>) -> Vec<(String, Observed)> {
        let mut set = tokio::task::JoinSet::new();
        let mut out = Vec::new();
        for look in looks {
            let engine = match self.get(&look.name, &look.host).await {
                Ok(e) => e,
                Err(e) => {
                    out.push((look.name, Err(e)));
                    continue;
                }
            };
            set.spawn(async move {
                let seen = tokio::time::timeout(OBSERVE_TIMEOUT, observe(&engine, &look.images));
                let seen = match seen.await {
                    Ok(r) => r.map_err(|e| Unobserved::Engine(e.to_string())),
                    Err(_) => Err(Unobserved::Timeout(OBSERVE_TIMEOUT.as_secs())),
                };
                (look.name, seen)
            });
        }
        while let Some(Ok((name, seen))) = set.join_next().await {
            if seen.is_err() {
                self.cache.remove(&name);
            }
            out.push((name, seen));
        }
        out
    }

    /// `docker::apply::apply_stack` on the host's engine; without a
    /// connection (the host failed since it was observed) every change
    /// fails, saying so.
    fn apply(&self, host: &str, work: Work) -> Owned<Vec<Step>> {
        let engine = self.connected(host).cloned();
        Box::pin(async move {
            match engine {
                Ok(e) => {
                    let target = work.target.as_ref();
                    apply_stack(&e, &work.plan, target, &work.seen, &work.commit).await
                }
                Err(why) => failed(work.plan.changes, &why.to_string()),
            }
        })
    }

    /// The stack's tracked files into its bind volumes through the API
    /// (see `stacks::remote`).
    fn place_remote(
        &self,
        host: &str,
        target: Target,
        work: super::work::StackWork,
        files: Vec<Change>,
    ) -> Owned<Vec<Step>> {
        let engine = self.connected(host).cloned();
        Box::pin(async move {
            match engine {
                Ok(e) => super::remote::place_files(&e, &target, &work, files).await,
                Err(why) => failed(files, &why.to_string()),
            }
        })
    }

    /// The events stream of the host's engine, on a task of its own that
    /// reopens it with backoff when it ends.
    fn follow(&mut self, host: &str, queue: Arc<Queue>) {
        if let Ok(engine) = self.connected(host) {
            super::events::follow(engine.clone(), queue);
        }
    }

    /// Observes the stack's containers and images afresh (a stack job
    /// runs between passes, so the last pass's view may be old), then runs
    /// the action on them.
    async fn act(&mut self, host: &str, spec: &Host, act: Act) -> Result<Vec<String>, StacksError> {
        let engine = self.get(host, spec).await?;
        let images = act.images.iter().cloned().collect();
        let seen = observe(&engine, &images).await.map_err(engine_error)?;
        let (stack, services) = (&act.stack, &act.services);
        crate::docker::actions::run(&engine, &seen, stack, services, act.action, &act.images)
            .await
            .map_err(engine_error)
    }

    /// The project's managed volumes, removed through the host's engine.
    async fn remove_volumes(&self, host: &str, project: &str) -> Result<Vec<String>, StacksError> {
        let engine = self.connected(host)?;
        crate::docker::ops::remove_project_volumes(engine, project)
            .await
            .map_err(engine_error)
    }

    /// One container inspect.
    async fn mounts(
        &self,
        host: &str,
        id: &str,
    ) -> Result<(bool, Vec<(String, String)>), StacksError> {
        let engine = self.connected(host)?;
        crate::docker::observe::bind_mounts(engine, id)
            .await
            .map_err(engine_error)
    }

    /// `docker stop` with the container's own grace period.
    async fn stop(&self, host: &str, id: &str) -> Result<(), StacksError> {
        let engine = self.connected(host)?;
        crate::docker::ops::stop(engine, id)
            .await
            .map_err(engine_error)
    }
}

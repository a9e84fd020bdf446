//! The run environment: the fixed settings and handles every job run gets
//! from the daemon — where it works, the programs it calls, where it
//! reports, the clock and the [`Runner`] that carries out the process. Its
//! own type, so a run depends on it and not on the scheduler that starts
//! the run; unit tests give a fake runner and a paused clock.

use crate::reconcile::clock::SharedClock;
use crate::runner::{self, Outcome, RunSpec};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Carries out one attempt of a command or playbook job.
pub trait Runner: Send + Sync + 'static {
    /// Runs `spec` to its end, sending log chunks to `chunks`; a `true` on
    /// `stop` ends it early (the outcome says `interrupted`).
    fn execute(
        &self,
        spec: RunSpec,
        chunks: mpsc::UnboundedSender<Vec<u8>>,
        stop: watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;
}

/// The real runner: a process per attempt (`runner::execute`), in its own
/// process group, with the job's environment and time limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Processes;

impl Runner for Processes {
    fn execute(
        &self,
        spec: RunSpec,
        chunks: mpsc::UnboundedSender<Vec<u8>>,
        stop: watch::Receiver<bool>,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>> {
        Box::pin(runner::execute(spec, chunks, stop))
    }
}

/// What every run of a job gets from the daemon.
#[derive(Clone)]
pub struct RunEnv {
    /// Private per-run folders are made under this.
    pub work_root: PathBuf,
    /// The `ansible-playbook` program.
    pub ansible_playbook: PathBuf,
    /// How long running jobs get to stop on shutdown.
    pub grace: Duration,
    /// Where stack jobs send their container actions.
    pub stacks: Option<mpsc::Sender<crate::reconcile::stacks::StackRequest>>,
    /// Where runs are counted and announced.
    pub observers: crate::live::Observers,
    /// Turns finished runs into alerts.
    pub mail: Option<crate::reconcile::notify::letters::Letters>,
    /// Carries out each attempt.
    pub runner: Arc<dyn Runner>,
    /// The time of day.
    pub clock: SharedClock,
}

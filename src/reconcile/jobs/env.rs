//! The run environment: the fixed settings and handles every job run gets
//! from the daemon. Its own type, so a run depends on it and not on the
//! scheduler that starts the run.

use std::path::PathBuf;
use std::time::Duration;

/// What every run of a job gets from the daemon: where it works, the
/// programs it calls, where it reports.
#[derive(Clone)]
pub struct RunEnv {
    /// Private per-run folders are made under this.
    pub work_root: PathBuf,
    /// The `ansible-playbook` program.
    pub ansible_playbook: PathBuf,
    /// How long running jobs get to stop on shutdown.
    pub grace: Duration,
    /// Where stack jobs send their container actions.
    pub stacks: Option<tokio::sync::mpsc::Sender<crate::reconcile::stacks::StackRequest>>,
    /// Where runs are counted and announced.
    pub observers: crate::live::Observers,
    /// Turns finished runs into alerts.
    pub mail: Option<crate::reconcile::notify::letters::Letters>,
}

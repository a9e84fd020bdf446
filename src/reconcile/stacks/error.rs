//! Why a stack job or a stack's working directory failed: the stacks
//! controller's one error type. Each variant's text is what the job's log,
//! the audit log and the status page show, so it names the stack, host or
//! file concerned.

/// Why a stack job or a working directory failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StacksError {
    /// No commit is in force yet.
    #[error("no commit is in force")]
    NoCommit,
    /// The job names a stack the commit does not have.
    #[error("stack {0} is not in the commit in force")]
    NoStack(String),
    /// The stack's host is not declared.
    #[error("host {0} is not declared")]
    NoHost(String),
    /// The host could not be observed.
    #[error(transparent)]
    Unobserved(#[from] crate::model::Unobserved),
    /// The host was not observed on this pass (unreachable or failing).
    #[error("host {0} was not observed")]
    NotObserved(String),
    /// The engine refused an action.
    #[error("{0}")]
    Engine(String),
    /// The reconcile after the job's action failed: its log and errors.
    #[error("{log}\n{errors}")]
    Reconcile {
        /// What was done.
        log: String,
        /// What failed, `; `-separated.
        errors: String,
    },
    /// The stack's tracked files were not read from the commit.
    #[error("stack {0} was not scanned")]
    NotScanned(String),
    /// The stack's folder in the commit could not be read.
    #[error("working directory: {0}")]
    WorkDir(String),
    /// A tracked file or the manifest could not be read or written.
    #[error("{path}: {cause}")]
    File {
        /// The file.
        path: String,
        /// What failed.
        cause: String,
    },
    /// Files could not be placed on a remote engine.
    #[error("placing files on {host}: {cause}")]
    Place {
        /// The host.
        host: String,
        /// What the engine said.
        cause: String,
    },
    /// A remote working directory needs an image to carry its files.
    #[error("the stack has no service whose image could carry the files")]
    NoCarrier,
    /// The controller is gone (shutdown).
    #[error("the stacks controller stopped")]
    Stopped,
    /// The daemon runs no stacks controller.
    #[error("the stacks controller is not running")]
    NotRunning,
}

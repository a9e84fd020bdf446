//! Live notices for `GET /api/v1/stream` (SSE): runs started and finished,
//! commits applied, stacks changed. A broadcast hub: producers never wait,
//! a slow reader misses notices and is told to refetch (`lagged`).

use serde::Serialize;
use tokio::sync::broadcast;

/// How many notices a reader may fall behind before it lags.
const BACKLOG: usize = 256;

/// Something that changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Notice {
    /// A run started.
    RunStarted {
        /// Run id.
        run: u64,
        /// Job name.
        job: String,
    },
    /// A run ended.
    RunFinished {
        /// Run id.
        run: u64,
        /// Job name.
        job: String,
        /// Final status (`succeeded`, `failed`, …).
        status: String,
    },
    /// A commit became the one in force.
    CommitApplied {
        /// Commit id.
        commit: String,
    },
    /// A stack's sync status or last plan changed.
    StackChanged {
        /// Stack name.
        stack: String,
        /// `synced`, `out-of-sync`, `degraded` or `unknown`.
        sync: String,
    },
}

impl Notice {
    /// The SSE event name (the `type` field).
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::RunStarted { .. } => "run-started",
            Notice::RunFinished { .. } => "run-finished",
            Notice::CommitApplied { .. } => "commit-applied",
            Notice::StackChanged { .. } => "stack-changed",
        }
    }
}

/// The hub; cheap to clone.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<Notice>,
    published: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            tx: broadcast::channel(BACKLOG).0,
            published: Default::default(),
        }
    }
}

impl Hub {
    /// Publishes a notice (dropped when nobody listens).
    pub fn publish(&self, notice: Notice) {
        self.published
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        let _ = self.tx.send(notice);
    }

    /// How many notices were published so far: what a page shows may have
    /// changed when this moved.
    pub fn published(&self) -> u64 {
        self.published.load(std::sync::atomic::Ordering::Acquire)
    }

    /// A new reader, seeing notices from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.tx.subscribe()
    }
}

/// Where the loops report what happens: metrics and live notices.
#[derive(Clone, Default)]
pub struct Observers {
    /// Prometheus metrics.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Live notices.
    pub hub: Hub,
}

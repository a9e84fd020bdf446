//! Wall-clock time as the controllers read it. The daemon uses the
//! system's; unit tests use [`TokioClock`], which moves with tokio's clock,
//! so `tokio::time::pause()`/`advance()` drive cron instants, windows and
//! timers together.

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Where a controller reads the time of day.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// A clock shared by the parts of a controller (and by a controller's run
/// tasks), so a test's paused clock reaches them all.
pub type SharedClock = Arc<dyn Clock>;

/// The system's clock (`Utc::now`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// Wall time that starts at a given instant and advances with tokio's
/// clock (paused or not).
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    wall: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock that reads `wall` now.
    pub fn starting_at(wall: DateTime<Utc>) -> TokioClock {
        TokioClock {
            wall,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let gone = chrono::Duration::from_std(self.start.elapsed()).unwrap_or_default();
        self.wall + gone
    }
}

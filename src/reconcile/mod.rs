//! The reconcile wing: four controllers, each in its own room, each
//! level-triggered as in kube-runtime — a trigger only asks for a pass, a
//! pass recomputes from the newest commit and what is stored, so lost or
//! repeated triggers are harmless.
//!
//! - [`commits`]: source → config → the commit in force. Fetches on every
//!   trigger, validates the whole commit, keeps the last good one when a
//!   new one fails, publishes the one in force.
//! - [`stacks`]: the commit's stacks → Docker hosts. Observe, plan, apply;
//!   self-heal with a brake; sleep windows; stack jobs between passes.
//! - [`jobs`]: the commit's jobs → runs. Cron instants, catch-up of missed
//!   ones, concurrency, retries, each run's process and record.
//! - [`notify`]: runs and events → letters → the outbox → each service,
//!   retried with backoff, a dead receiver probed rather than hammered.
//!
//! Shared pieces: [`queue`] (coalescing requests), [`triggers`] (poll and
//! interval timers), [`backoff`] (the one backoff formula), [`audit`]
//! (writing events from async code).

pub mod audit;
pub mod backoff;
pub mod clock;
pub mod commits;
pub mod jobs;
pub mod keys;
pub mod notify;
pub mod queue;
pub mod stacks;
pub mod triggers;

//! The self-heal brake: a stack healed too often in a short time is left
//! alone (and shown degraded) until the next commit or reconcile interval,
//! so a crash-looping service never becomes a restart storm.
//!
//! Heals are counted per stack in a sliding window of [`HEAL_WINDOW`]:
//! heals older than it are forgotten, so a stack that drifts now and then
//! is healed every time, and only a stack that drifts more than
//! [`HEAL_LIMIT`] times within the window trips the brake. A tripped stack
//! is told degraded once, with the drift that tripped it.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// Heals allowed within [`HEAL_WINDOW`] before the brake trips.
pub const HEAL_LIMIT: usize = 5;
/// The window heals are counted in.
pub const HEAL_WINDOW: Duration = Duration::from_secs(600);

/// The brake is on for a stack: why, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Tripped(pub String);

/// Heal times per stack, and which stacks the brake holds.
#[derive(Default)]
pub struct Brake {
    heals: BTreeMap<String, VecDeque<Instant>>,
    tripped: BTreeMap<String, String>,
}

impl Brake {
    /// Whether `stack` is held by the brake.
    pub fn tripped(&self, stack: &str) -> bool {
        self.tripped.contains_key(stack)
    }

    /// Stacks held, with the reason.
    pub fn held(&self) -> &BTreeMap<String, String> {
        &self.tripped
    }

    /// Asks to heal `stack` at `now`: `Ok` counts the heal; `Err` when
    /// this heal would exceed the limit (the brake trips).
    pub fn heal(&mut self, stack: &str, now: Instant) -> Result<(), Tripped> {
        if let Some(why) = self.tripped.get(stack) {
            return Err(Tripped(why.clone()));
        }
        let times = self.heals.entry(stack.to_owned()).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) > HEAL_WINDOW)
        {
            times.pop_front();
        }
        if times.len() >= HEAL_LIMIT {
            let why = format!(
                "self-heal gave up: {HEAL_LIMIT} heals within {} minutes; left alone until the next commit or reconcile interval",
                HEAL_WINDOW.as_secs() / 60
            );
            self.tripped.insert(stack.to_owned(), why.clone());
            return Err(Tripped(why));
        }
        times.push_back(now);
        Ok(())
    }

    /// Releases every stack (a new commit or the reconcile interval).
    pub fn reset(&mut self) {
        self.heals.clear();
        self.tripped.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_after_the_limit_and_forgets_old_heals() {
        let mut b = Brake::default();
        let t0 = Instant::now();
        for i in 0..HEAL_LIMIT {
            assert!(b.heal("web", t0 + Duration::from_secs(i as u64)).is_ok());
        }
        assert!(b.heal("web", t0 + Duration::from_secs(10)).is_err());
        assert!(b.tripped("web"));
        assert!(b.heal("db", t0).is_ok());
        b.reset();
        let later = t0 + HEAL_WINDOW + Duration::from_secs(60);
        for _ in 0..HEAL_LIMIT {
            assert!(b.heal("web", later).is_ok());
        }
    }
}

//! The one backoff every loop uses: the poll timer while the remote fails,
//! the stacks controller while a host is unreachable, and notification
//! retries. A value type — the caller counts failures, [`Backoff::delay`]
//! says how long to wait — so it is pure and tested by itself.

use std::time::Duration;

/// Exponential backoff: `base × factor^failures`, never above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry (no failure counted yet).
    pub base: Duration,
    /// How much each further failure multiplies the wait by.
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `base`, growing by `factor`, capped at `max`.
    pub const fn new(base: Duration, factor: u32, max: Duration) -> Backoff {
        Backoff { base, factor, max }
    }

    /// The wait after `failures` consecutive failures beyond the first try
    /// (0 gives `base`), capped at `max` (and never below `base`).
    pub fn delay(&self, failures: u32) -> Duration {
        let grow = self.factor.saturating_pow(failures.min(32));
        self.base.saturating_mul(grow).min(self.max.max(self.base))
    }

    /// [`Self::delay`] spread by ±`percent` %, the offset picked by `seed`
    /// (so that many waiters on one cause do not wake together).
    pub fn jittered(&self, failures: u32, percent: u32, seed: u64) -> Duration {
        jitter(self.delay(failures), percent, seed)
    }
}

/// `wait` moved by up to ±`percent` %, by `seed`.
pub fn jitter(wait: Duration, percent: u32, seed: u64) -> Duration {
    let spread = wait.as_millis() as u64 * u64::from(percent) / 100;
    if spread == 0 {
        return wait;
    }
    let offset = seed % (2 * spread + 1);
    (wait + Duration::from_millis(offset)).saturating_sub(Duration::from_millis(spread))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_caps_and_jitters() {
        let b = Backoff::new(Duration::from_secs(2), 2, Duration::from_secs(60));
        let waits: Vec<u64> = (0..7).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
        let small_cap = Backoff::new(Duration::from_secs(900), 2, Duration::from_secs(600));
        assert_eq!(
            small_cap.delay(3),
            Duration::from_secs(900),
            "never below base"
        );
        let s = Duration::from_secs(10);
        assert_eq!(jitter(s, 10, 0), Duration::from_secs(9));
        assert_eq!(jitter(s, 10, 2000), Duration::from_secs(11));
        assert_eq!(jitter(Duration::ZERO, 10, 5), Duration::ZERO);
        for seed in [1, 77, 999_999] {
            let j = b.jittered(1, 20, seed).as_millis();
            assert!((3200..=4800).contains(&j), "{j}");
        }
    }
}

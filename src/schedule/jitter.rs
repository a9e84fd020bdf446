//! Jitter: each job with `jitter: W` fires a fixed offset in `[0, W)` after
//! its schedule says. The offsets of the jobs that share one window are
//! spread evenly: ranked by an FNV-1a hash of their names (the same on
//! every run and every build), the `i`-th of `n` gets a place inside the
//! `i`-th of `n` equal slices of the window, found by its hash. So 100 jobs
//! at 03:00 with `jitter: 10m` start about every 6 s, never in a clump, and
//! a restart or a new build changes nothing; adding or removing a job of
//! the same window moves the others within their slices.

use super::Schedule;
use std::time::Duration;

impl Schedule {
    /// The schedule with its jitter window (no offset yet: [`spread`] gives
    /// the offsets of all the jobs of a commit).
    pub fn with_jitter(mut self, window: Duration) -> Self {
        self.jitter = window;
        self
    }

    /// The schedule with every fire time delayed by `offset`.
    pub fn with_offset(mut self, offset: Duration) -> Self {
        self.offset = chrono::Duration::from_std(offset).unwrap_or_default();
        self
    }

    /// The jitter window (zero without jitter).
    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// The delay every fire time has (from [`spread`]).
    pub fn offset(&self) -> Duration {
        self.offset.to_std().unwrap_or_default()
    }

    /// The shortest time between two of the next `n` fire times after
    /// `from` (`None` with fewer than two).
    pub fn shortest_gap(&self, from: chrono::DateTime<chrono::Utc>, n: usize) -> Option<Duration> {
        let times = self.upcoming(from, n);
        times
            .windows(2)
            .filter_map(|w| (w[1] - w[0]).to_std().ok())
            .min()
    }
}

/// FNV-1a of `name`: a hash that is the same in every build.
fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The offsets of `jobs` (name, jitter window), in their order: whole
/// seconds in `[0, window)`, spread evenly among the jobs of one window
/// (see the module). A zero window gives a zero offset.
pub fn spread(jobs: &[(&str, Duration)]) -> Vec<Duration> {
    let mut out = vec![Duration::ZERO; jobs.len()];
    let mut windows: Vec<Duration> = jobs.iter().map(|j| j.1).filter(|w| !w.is_zero()).collect();
    windows.sort();
    windows.dedup();
    for window in windows {
        let mut group: Vec<(u64, &str, usize)> = jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| j.1 == window)
            .map(|(i, j)| (fnv1a(j.0), j.0, i))
            .collect();
        group.sort();
        let n = group.len() as u128;
        let span = u128::from(window.as_secs().max(1));
        for (rank, (hash, _, i)) in group.into_iter().enumerate() {
            // Place inside the slice: the hash's top 32 bits as a fraction.
            let within = u128::from(hash >> 32);
            let at = (span * ((rank as u128) << 32 | within)) / (n << 32);
            out[i] = Duration::from_secs(at.min(span - 1) as u64);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_stable_bounded_and_even_per_decile() {
        let ten = Duration::from_secs(600);
        for prefix in ["job-", "backup-", "j", "nas-"] {
            let names: Vec<String> = (0..100).map(|i| format!("{prefix}{i:03}")).collect();
            let jobs: Vec<(&str, Duration)> = names.iter().map(|n| (n.as_str(), ten)).collect();
            let offsets = spread(&jobs);
            assert_eq!(offsets, spread(&jobs), "stable");
            let mut deciles = [0; 10];
            for o in &offsets {
                assert!(*o < ten, "{o:?}");
                deciles[(o.as_secs() / 60) as usize] += 1;
            }
            assert_eq!(deciles, [10; 10], "{prefix}: {deciles:?}");
        }
    }

    #[test]
    fn one_job_takes_its_place_from_its_name_and_windows_do_not_mix() {
        let hour = Duration::from_secs(3600);
        let a = spread(&[("backup-nas", hour)]);
        let b = spread(&[("backup-photos", hour)]);
        assert_ne!(a, b, "names spread out");
        let mixed = spread(&[
            ("x", hour),
            ("y", Duration::ZERO),
            ("z", Duration::from_secs(10)),
        ]);
        assert!(mixed[0] < hour && mixed[1].is_zero() && mixed[2] < Duration::from_secs(10));
        assert_eq!(
            spread(&[("x", hour)])[0],
            mixed[0],
            "other windows do not move it"
        );
    }
}

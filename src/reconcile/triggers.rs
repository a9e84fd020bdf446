//! Timer triggers: the poll (with jitter, backing off while the remote
//! fails) and the periodic full reconcile (`[reconcile].interval`, followed
//! as commits change it). They only request reconciles.
//!
//! A timer never does work itself: it puts a reason on the queue, and the
//! controller's next pass does the rest. So a timer that fires while a pass
//! runs costs nothing, and a timer that is late (a suspended machine)
//! fires once, not once per missed period.

use super::backoff::Backoff;
use super::queue::{Queue, Reason};
use crate::model::Applied;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Longest wait between polls while the remote keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The wait before the next poll: `interval` ±10 % jitter, doubled per
/// consecutive failure up to [`MAX_BACKOFF`] (never below `interval`).
pub fn poll_delay(interval: Duration, failures: u32, jitter_seed: u64) -> Duration {
    Backoff::new(interval, 2, MAX_BACKOFF).jittered(failures, 10, jitter_seed)
}

/// Completes when `shutdown` turns true (or its sender is gone, which
/// means the daemon is ending anyway).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Requests a poll reconcile forever (until `shutdown`). Each wait is
/// drawn afresh from [`poll_delay`] with the failures counted so far, so
/// a remote that fails is asked less and less often, and one good fetch
/// (which resets the count) brings the poll back to its interval. The
/// jitter keeps many tend instances on one remote from polling together.
pub async fn poll(
    queue: Arc<Queue>,
    interval: Duration,
    failures: Arc<AtomicU32>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() as u64);
        let delay = poll_delay(interval, failures.load(Ordering::Relaxed), seed);
        tokio::select! {
            _ = tokio::time::sleep(delay) => queue.request(Reason::Poll),
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// Used until a commit sets `[reconcile].interval` (and when none does):
/// five minutes.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);

/// Requests a full reconcile every `[reconcile].interval` of the commit in
/// force (until `shutdown`); a commit that changes it takes effect at once.
/// The interval is at least a second, whatever the commit says.
pub async fn interval(
    queue: Arc<Queue>,
    mut applied: watch::Receiver<Option<Arc<Applied>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let period = applied
            .borrow_and_update()
            .as_ref()
            .map_or(DEFAULT_INTERVAL, |a| a.desired.settings.reconcile_interval)
            .max(Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep(period) => queue.request(Reason::Interval),
            changed = applied.changed() => if changed.is_err() { return },
            _ = stopped(&mut shutdown) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_jitters_and_backs_off() {
        let i = Duration::from_secs(60);
        assert_eq!(poll_delay(i, 0, 0), Duration::from_secs(54));
        assert_eq!(poll_delay(i, 0, 12_000), Duration::from_secs(66));
        assert_eq!(poll_delay(i, 1, 24_000), Duration::from_secs(132));
        assert_eq!(poll_delay(i, 30, 60_000), Duration::from_secs(600));
        let fast = Duration::from_secs(1);
        assert!(poll_delay(fast, 0, 7) <= Duration::from_millis(1100));
    }

    #[tokio::test(start_paused = true)]
    async fn poll_requests_after_the_interval() {
        let queue = Arc::new(Queue::default());
        let (_tx, rx) = watch::channel(false);
        let task = tokio::spawn(poll(
            queue.clone(),
            Duration::from_secs(10),
            Arc::default(),
            rx,
        ));
        tokio::time::sleep(Duration::from_secs(12)).await;
        let got = tokio::time::timeout(Duration::from_secs(1), queue.next())
            .await
            .unwrap();
        assert!(got.contains(&Reason::Poll));
        task.abort();
    }

    #[tokio::test(start_paused = true)]
    async fn interval_follows_the_commit_in_force() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example-repo");
        let desired = crate::config::load(&root, chrono::Utc::now()).unwrap();
        assert_eq!(
            desired.settings.reconcile_interval,
            Duration::from_secs(300)
        );
        let applied = |d: crate::model::Desired| {
            Some(Arc::new(Applied {
                commit: "c".into(),
                dir: root.clone(),
                desired: Arc::new(d),
            }))
        };
        let (tx, rx) = watch::channel(applied(desired.clone()));
        let (_stop, stop_rx) = watch::channel(false);
        let queue = Arc::new(Queue::default());
        let task = tokio::spawn(interval(queue.clone(), rx, stop_rx));
        tokio::time::sleep(Duration::from_secs(299)).await;
        assert!(
            tokio::time::timeout(Duration::ZERO, queue.next())
                .await
                .is_err(),
            "not before 5 min"
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(queue.next().await.contains(&Reason::Interval));
        let mut faster = desired;
        faster.settings.reconcile_interval = Duration::from_secs(30);
        tx.send(applied(faster)).unwrap();
        tokio::time::sleep(Duration::from_secs(31)).await;
        assert!(
            queue.next().await.contains(&Reason::Interval),
            "new interval took effect"
        );
        task.abort();
    }
}

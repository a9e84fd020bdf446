//! The delivery worker: sends what the outbox holds, each notification on
//! its own task, so a slow or dead service delays neither jobs nor the
//! other services ([`super::gate`] decides what may go: a few attempts in
//! flight per service, one probe at a time to a receiver that failed).
//! A refused or unanswered attempt is retried with exponential backoff
//! (with jitter, from `backoff`), a `429` after its `Retry-After`; after
//! [`MAX_ATTEMPTS`], or on an answer that will not change (`400`, `401`,
//! `404`, …), it is marked failed. Each attempt is written back to the
//! store, so a restart goes on where it stopped.

use super::gate::Gate;
use super::post::Post;
use crate::alert::{self, AlertError, Delivered};
use crate::metrics::Metrics;
use crate::model::{Delivery, Notification};
use crate::reconcile::audit;
use crate::reconcile::backoff::Backoff;
use crate::reconcile::clock::SharedClock;
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Attempts before a notification is marked failed.
pub const MAX_ATTEMPTS: u32 = 8;
/// Longest wait between two attempts.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The worker's settings and effects.
pub struct Courier {
    /// Where the outbox is.
    pub store: Store,
    /// `tend_notifications_total`.
    pub metrics: Arc<Metrics>,
    /// Wait before the first retry; tripled for each further one.
    pub backoff: Duration,
    /// Sends each attempt.
    pub post: Arc<dyn Post>,
    /// The time of day.
    pub clock: SharedClock,
}

impl Courier {
    /// Delivers until `stop` turns true: reads what the outbox holds,
    /// attempts what the gate lets go (each on its own task), writes each
    /// result back as it ends, and sleeps until the next retry is due or
    /// something new is queued. Attempts in flight at `stop` are left; they
    /// are still pending in the store and go after the next start.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut queue: BTreeMap<u64, Notification> = BTreeMap::new();
        let mut seen = 0u64;
        let mut gate = Gate::default();
        let mut flying: JoinSet<Notification> = JoinSet::new();
        let mut reload = true;
        loop {
            if reload {
                reload = false;
                for n in self.pending_after(seen).await {
                    seen = seen.max(n.id);
                    queue.insert(n.id, n);
                }
            }
            let now = self.clock.now();
            let expired: Vec<Notification> = gate
                .expired(&queue, now)
                .into_iter()
                .filter_map(|id| queue.remove(&id))
                .map(|n| give_up(n, now))
                .collect();
            if !expired.is_empty() {
                self.settle(&expired).await;
            }
            for id in gate.pick(&queue, now) {
                let n = queue.remove(&id).expect("picked from the queue");
                let (post, clock) = (self.post.clone(), self.clock.clone());
                flying.spawn(attempt(post, clock, n, self.backoff));
            }
            let sleep = gate.wake(&queue).map_or(MAX_WAIT, |t| {
                (t - self.clock.now()).to_std().unwrap_or_default()
            });
            tokio::select! {
                _ = self.store.posted() => reload = true,
                Some(done) = flying.join_next() => {
                    // Every attempt that has ended is written in one transaction.
                    let mut ended: Vec<Notification> = done.into_iter().collect();
                    while let Some(more) = flying.try_join_next() {
                        ended.extend(more);
                    }
                    let now = self.clock.now();
                    for n in &ended {
                        gate.ended(n, now);
                    }
                    self.settle(&ended).await;
                    for n in ended {
                        if n.state == Delivery::Pending {
                            queue.insert(n.id, n);
                        }
                    }
                }
                _ = tokio::time::sleep(sleep.min(MAX_WAIT)) => {}
                _ = crate::reconcile::triggers::stopped(&mut stop) => break,
            }
        }
        // Attempts in flight are dropped; they stay pending in the store.
        flying.abort_all();
    }

    /// Notifications still pending with ids above `seen` (the ones queued
    /// since the worker last looked).
    async fn pending_after(&self, seen: u64) -> Vec<Notification> {
        let pending = move |s: Store| s.reader().outbox_pending(seen);
        let list = audit::logged(&self.store, "cannot read the outbox", pending);
        list.await.unwrap_or_default()
    }

    /// Writes attempts' results back and counts them; a store failure is
    /// logged, and the store then still holds each notification as it was
    /// before the attempt (so it may be sent twice, never lost).
    async fn settle(&self, ended: &[Notification]) {
        for n in ended {
            let outcome = match n.state {
                Delivery::Sent => "sent",
                Delivery::Failed => "failed",
                Delivery::Pending => "retry",
            };
            self.metrics.notification(&n.channel, outcome);
            let (id, target, subject) = (n.id, alert::redact(&n.url), &n.alert.subject);
            let error = n.last_error.as_deref().unwrap_or("");
            let attempts = n.attempts;
            match n.state {
                Delivery::Sent => tracing::info!(id, %target, %subject, "notification sent"),
                Delivery::Failed => {
                    tracing::error!(id, %target, attempts, error, "notification failed; giving up")
                }
                // The first miss is worth a warning, each retry is not.
                _ if attempts == 1 => {
                    tracing::warn!(id, %target, error, "notification not delivered; will retry")
                }
                _ => tracing::debug!(id, %target, attempts, error, "notification retry failed"),
            }
        }
        let copy = ended.to_vec();
        let update = move |s: Store| s.outbox_update(&copy);
        audit::logged(&self.store, "cannot record notification attempts", update).await;
    }
}

/// A notification that waited too long on a receiver that stays down:
/// marked failed with why, so it leaves the outbox and the status shows it.
fn give_up(mut n: Notification, now: DateTime<Utc>) -> Notification {
    n.state = Delivery::Failed;
    n.done_at = Some(now);
    n.last_error = Some(format!(
        "receiver down for {} h; gave up ({})",
        super::gate::MAX_AGE.num_hours(),
        n.last_error.as_deref().unwrap_or("no attempt")
    ));
    n
}

/// One attempt: resolve the URL's secrets, build the request, send it.
/// The URL's secrets are resolved for this attempt only and never stored
/// or logged; an unresolvable secret fails the attempt like a refusal.
async fn attempt(
    post: Arc<dyn Post>,
    clock: SharedClock,
    n: Notification,
    backoff: Duration,
) -> Notification {
    let result = match crate::runner::expand(&n.url) {
        Err(e) => Err(AlertError::Url(e)),
        Ok((url, _)) => post.post(url, n.alert.clone()).await,
    };
    outcome(n, result, clock.now(), backoff)
}

/// The notification after an attempt that got `result` at `now`: sent,
/// failed for good (an answer that will not change, or [`MAX_ATTEMPTS`]
/// used), or pending with its next attempt after the backoff or the
/// receiver's `Retry-After`. Pure.
pub fn outcome(
    mut n: Notification,
    result: Result<Delivered, AlertError>,
    now: DateTime<Utc>,
    backoff: Duration,
) -> Notification {
    n.attempts += 1;
    let mut retry_after = None;
    let retryable = match result {
        Ok(d) if d.ok() => {
            n.state = Delivery::Sent;
            n.last_status = Some(d.status);
            n.last_error = None;
            n.done_at = Some(now);
            return n;
        }
        Ok(d) => {
            n.last_status = Some(d.status);
            let body = alert::cut(d.body.trim(), 200);
            n.last_error = Some(format!("answered {}: {body}", d.status));
            retry_after = d.retry_after;
            matches!(d.status, 408 | 425 | 429) || d.status >= 500
        }
        Err(e @ AlertError::Transport { .. }) => {
            n.last_error = Some(e.to_string());
            true
        }
        Err(e) => {
            n.last_error = Some(e.to_string());
            false
        }
    };
    if !retryable || n.attempts >= MAX_ATTEMPTS {
        n.state = Delivery::Failed;
        n.done_at = Some(now);
        return n;
    }
    let wait = retry_after.unwrap_or_else(|| {
        // ±20 % so that many alerts to one dead service spread out.
        let seed = n.id.wrapping_mul(2_654_435_761);
        Backoff::new(backoff, 3, MAX_WAIT).jittered(n.attempts - 1, 20, seed)
    });
    n.next_at = now + chrono::Duration::from_std(wait.min(MAX_WAIT)).unwrap_or_default();
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::sample;

    fn queued() -> Notification {
        sample::queued(1, "json://127.0.0.1:9/x", Utc::now())
    }

    fn answer(status: u16, retry_after: Option<u64>) -> Result<Delivered, AlertError> {
        Ok(Delivered {
            status,
            body: "nope".into(),
            retry_after: retry_after.map(Duration::from_secs),
        })
    }

    #[test]
    fn retries_back_off_honour_retry_after_and_give_up() {
        let now = Utc::now();
        let base = Duration::from_secs(5);
        let n = outcome(queued(), answer(500, None), now, base);
        assert_eq!(
            (n.state, n.attempts, n.last_status),
            (Delivery::Pending, 1, Some(500))
        );
        let wait = (n.next_at - now).num_milliseconds();
        assert!((4000..=6000).contains(&wait), "{wait}");
        let n = outcome(n, answer(429, Some(30)), now, base);
        assert_eq!((n.next_at - now).num_seconds(), 30);
        let n = outcome(n, answer(200, None), now, base);
        assert_eq!((n.state, n.done_at), (Delivery::Sent, Some(now)));
        let gone = outcome(queued(), answer(404, None), now, base);
        assert_eq!(gone.state, Delivery::Failed);
        assert_eq!(gone.last_error.as_deref(), Some("answered 404: nope"));
        let mut n = queued();
        for _ in 0..MAX_ATTEMPTS {
            let refused = Err(AlertError::Transport {
                url: "x".into(),
                cause: "refused".into(),
            });
            n = outcome(n, refused, now, base);
        }
        assert_eq!((n.state, n.attempts), (Delivery::Failed, MAX_ATTEMPTS));
    }
}

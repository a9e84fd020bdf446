//! Which queued notifications the delivery worker may attempt now. At most
//! [`PER_CHANNEL`] attempts are in flight per service, and a receiver that
//! failed is *down*: until one probe — the oldest of its notifications,
//! after that one's backoff — gets through, the others wait instead of
//! each hammering a dead endpoint on its own schedule. One success opens
//! it again for all. Notifications that waited on a receiver down for
//! [`MAX_AGE`] are given up. Pure: instants are arguments.

use crate::model::{Delivery, Notification};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Attempts in flight at once per service.
pub const PER_CHANNEL: usize = 4;
/// Longest a notification waits on a receiver that stays down.
pub const MAX_AGE: chrono::Duration = chrono::Duration::hours(24);

/// The worker's view of channels and receivers.
#[derive(Debug, Default)]
pub struct Gate {
    busy: HashMap<String, usize>,
    /// Receivers (rule URLs) that failed, and when the next probe may go.
    down: HashMap<String, DateTime<Utc>>,
    probing: HashSet<String>,
}

impl Gate {
    /// Ids to attempt now, oldest first; each is counted as in flight.
    pub fn pick(&mut self, queue: &BTreeMap<u64, Notification>, now: DateTime<Utc>) -> Vec<u64> {
        let mut out = Vec::new();
        for n in queue.values() {
            if n.next_at > now || self.full(&n.channel) {
                continue;
            }
            if let Some(until) = self.down.get(&n.url) {
                if *until > now || self.probing.contains(&n.url) {
                    continue;
                }
                self.probing.insert(n.url.clone());
            }
            *self.busy.entry(n.channel.clone()).or_default() += 1;
            out.push(n.id);
        }
        out
    }

    /// When something in `queue` may next be picked (`None`: only when an
    /// attempt in flight ends).
    pub fn wake(&self, queue: &BTreeMap<u64, Notification>) -> Option<DateTime<Utc>> {
        queue
            .values()
            .filter(|n| !self.full(&n.channel))
            .filter_map(|n| match self.down.get(&n.url) {
                _ if self.probing.contains(&n.url) => None,
                Some(until) => Some((*until).max(n.next_at)),
                None => Some(n.next_at),
            })
            .min()
    }

    /// Learns from an attempt that ended: one fewer in flight on its
    /// channel; a retry marks its receiver down until that retry's time, a
    /// success (or a refusal for good: the receiver answers) opens it again
    /// for all its notifications.
    pub fn ended(&mut self, n: &Notification, now: DateTime<Utc>) {
        if let Some(c) = self.busy.get_mut(&n.channel) {
            *c = c.saturating_sub(1);
        }
        self.probing.remove(&n.url);
        match n.state {
            Delivery::Sent => {
                self.down.remove(&n.url);
            }
            Delivery::Pending => {
                self.down.insert(n.url.clone(), n.next_at);
            }
            // Out of attempts: the next one probes at once. Refused for
            // good (404, 535): the receiver answers, it is not down.
            Delivery::Failed if n.last_status.is_none() => {
                self.down.insert(n.url.clone(), now);
            }
            Delivery::Failed => {
                self.down.remove(&n.url);
            }
        }
    }

    /// Ids in `queue` that waited on a down receiver for longer than [`MAX_AGE`].
    pub fn expired(&self, queue: &BTreeMap<u64, Notification>, now: DateTime<Utc>) -> Vec<u64> {
        queue
            .values()
            .filter(|n| self.down.contains_key(&n.url) && now - n.created_at > MAX_AGE)
            .map(|n| n.id)
            .collect()
    }

    /// Whether `channel` has all the attempts in flight it may
    /// ([`PER_CHANNEL`]).
    fn full(&self, channel: &str) -> bool {
        self.busy.get(channel).copied().unwrap_or(0) >= PER_CHANNEL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::sample::queued;

    #[test]
    fn a_dead_receiver_gets_one_probe_and_a_live_one_the_rest() {
        let t0 = Utc::now();
        let secs = chrono::Duration::seconds;
        let mut queue: BTreeMap<u64, Notification> = (1..=10)
            .map(|id| {
                (
                    id,
                    queued(id, if id == 10 { "json://b/" } else { "json://a/" }, t0),
                )
            })
            .collect();
        let mut gate = Gate::default();
        assert_eq!(gate.pick(&queue, t0), [1, 2, 3, 4], "four per service");
        assert_eq!(gate.wake(&queue), None, "the service is full");
        // Receiver a refuses: its items wait for one probe after the backoff.
        for id in [1, 2, 3, 4] {
            let mut n = queue.remove(&id).unwrap();
            n.attempts = 1;
            n.next_at = t0 + secs(5);
            gate.ended(&n, t0);
            queue.insert(id, n);
        }
        assert_eq!(
            gate.pick(&queue, t0 + secs(1)),
            [10],
            "receiver b is not down"
        );
        queue.remove(&10);
        assert_eq!(gate.wake(&queue), Some(t0 + secs(5)));
        assert_eq!(gate.pick(&queue, t0 + secs(5)), [1], "one probe");
        assert_eq!(gate.pick(&queue, t0 + secs(6)), Vec::<u64>::new());
        let mut probe = queue[&1].clone();
        probe.state = Delivery::Sent;
        gate.ended(&probe, t0 + secs(6));
        queue.remove(&1);
        assert_eq!(
            gate.pick(&queue, t0 + secs(6)),
            [2, 3, 4],
            "open again; 10 holds a slot"
        );
        assert!(
            gate.expired(&queue, t0 + chrono::Duration::hours(25))
                .is_empty()
        );
        let mut n = queue[&5].clone();
        n.next_at = t0 + secs(60);
        gate.ended(&n, t0);
        assert_eq!(
            gate.expired(&queue, t0 + chrono::Duration::hours(25)).len(),
            8
        );
    }
}

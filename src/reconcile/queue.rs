//! The one queue every trigger feeds (poll, webhook, file watch, interval,
//! startup). A trigger only *requests* a reconcile; requests that arrive
//! while one is pending or running coalesce into the next one.
//!
//! The reasons are kept as a set, so a pass knows why it runs (a full pass
//! for a new commit or the interval, a light one for a Docker event) and a
//! burst of one reason is one pass. A request never blocks and never
//! fails: triggers can be called from any task or thread.

use std::collections::BTreeSet;
use std::sync::Mutex;
use tokio::sync::Notify;

/// Why a reconcile was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// The daemon started.
    Startup,
    /// A webhook announced a push.
    Webhook,
    /// The poll timer fired.
    Poll,
    /// Files changed in a dev-mode folder.
    FileChange,
    /// The periodic full reconcile.
    Interval,
    /// A new commit is in force (stacks).
    NewCommit,
    /// The Docker events stream reported a managed container changing.
    DockerEvent,
    /// A sleep window opened or closed.
    SleepWindow,
    /// A stack job changed containers.
    StackJob,
}

impl Reason {
    /// A word for logs and event reasons.
    pub fn word(self) -> &'static str {
        match self {
            Reason::Startup => "startup",
            Reason::Webhook => "webhook",
            Reason::Poll => "poll",
            Reason::FileChange => "file change",
            Reason::Interval => "interval",
            Reason::NewCommit => "new commit",
            Reason::DockerEvent => "docker event",
            Reason::SleepWindow => "sleep window",
            Reason::StackJob => "stack job",
        }
    }
}

/// Pending reconcile requests: the reasons asked for since the last
/// [`Queue::next`], and the wake-up of the one waiting on it.
#[derive(Default)]
pub struct Queue {
    /// The reasons asked for and not yet taken.
    pending: Mutex<BTreeSet<Reason>>,
    /// Wakes the controller waiting in [`Queue::next`] (a permit is kept
    /// when nobody waits, so no request is missed).
    notify: Notify,
}

impl Queue {
    /// Asks for a reconcile; cheap, never blocks, safe from any thread.
    pub fn request(&self, reason: Reason) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(reason);
        }
        self.notify.notify_one();
    }

    /// Waits for requests and takes all that are pending.
    pub async fn next(&self) -> BTreeSet<Reason> {
        loop {
            let taken = self
                .pending
                .lock()
                .map(|mut p| std::mem::take(&mut *p))
                .unwrap_or_default();
            if !taken.is_empty() {
                return taken;
            }
            self.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bursts_coalesce() {
        let q = Queue::default();
        q.request(Reason::Poll);
        q.request(Reason::Webhook);
        q.request(Reason::Poll);
        let got = q.next().await;
        assert_eq!(
            got.into_iter().collect::<Vec<_>>(),
            vec![Reason::Webhook, Reason::Poll]
        );
        q.request(Reason::Interval);
        assert_eq!(q.next().await.len(), 1);
    }
}

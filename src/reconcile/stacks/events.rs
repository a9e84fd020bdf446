//! Following each host's Docker events: a drift-relevant event of a
//! managed container asks the controller for a pass (after a short settle);
//! a dropped stream is reopened with backoff.

use super::hosts::Hosts;
use super::pass::Observation;
use super::{EVENT_CONFIRM, EVENT_SETTLE, Stacks};
use crate::docker::{Engine, events};
use crate::reconcile::backoff::Backoff;
use crate::reconcile::queue::{Queue, Reason};
use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;

/// How soon a host's event stream that ended is opened again: 1 s,
/// doubling to 30 s; reset by an event.
const STREAM_RETRY: Backoff = Backoff::new(Duration::from_secs(1), 2, Duration::from_secs(30));

impl<H: Hosts> Stacks<H> {
    /// Starts following the events of each host that answered, once.
    pub(super) fn follow_events(&mut self, obs: &Observation) {
        for (name, _) in obs.hosts.iter().filter(|(_, h)| h.is_ok()) {
            if self.followed.insert(name.clone()) {
                self.hosts.follow(name, self.queue.clone());
            }
        }
    }
}

/// Follows `engine`'s drift events on a task of its own: each one asks
/// `queue` for a pass (after a settle, and once more a little later); a
/// stream that ends is reopened with backoff.
pub(super) fn follow(engine: Engine, queue: Arc<Queue>) {
    tokio::spawn(async move {
        let mut failures = 0;
        loop {
            let mut stream = Box::pin(events::drift_events(&engine));
            while let Some(item) = stream.next().await {
                match item {
                    Ok(_) => {
                        // The engine reports `die` a moment before the
                        // container lists as exited: let it settle.
                        failures = 0;
                        tokio::time::sleep(EVENT_SETTLE).await;
                        queue.request(Reason::DockerEvent);
                        // On a loaded host it can lag longer: look once
                        // more, so a missed exit is not left until the
                        // reconcile interval.
                        let again = queue.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(EVENT_CONFIRM).await;
                            again.request(Reason::DockerEvent);
                        });
                    }
                    Err(e) => {
                        tracing::debug!(host = %engine.name, cause = %e, "events stream ended");
                        break;
                    }
                }
            }
            tokio::time::sleep(STREAM_RETRY.delay(failures)).await;
            failures += 1;
            queue.request(Reason::DockerEvent);
        }
    });
}

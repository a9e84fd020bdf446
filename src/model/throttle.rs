//! Repeats of one ongoing problem are throttled: the first failure is sent,
//! then at most one reminder every `repeat` (default 6 h) saying how many
//! were held back, and the recovery is sent once when it ends. Pure: the
//! caller keeps a [`Streak`] per rule and subject (job or stack) and stores
//! it with the outbox.

use super::EventKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Default time between reminders of the same ongoing failure.
pub const DEFAULT_REPEAT: chrono::Duration = chrono::Duration::hours(6);

/// What is remembered of one subject's problem for one rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// When the problem began; `None` while all is well.
    pub since: Option<DateTime<Utc>>,
    /// When the last alert of it went out.
    pub last_sent: Option<DateTime<Utc>>,
    /// Alerts held back since then.
    pub held: u32,
}

/// Whether to send, and how many repeats were held back before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it; `held` repeats were not sent since the last one.
    Send {
        /// Repeats held back.
        held: u32,
    },
    /// Hold it back.
    Hold,
}

/// Decides about `event` for the subject whose streak this is, and updates it.
pub fn decide(
    streak: &mut Streak,
    event: EventKind,
    now: DateTime<Utc>,
    repeat: chrono::Duration,
) -> Verdict {
    match event {
        EventKind::Recovery => {
            if streak.since.is_none() {
                return Verdict::Hold; // a success after successes is no news
            }
            let held = streak.held;
            *streak = Streak::default();
            Verdict::Send { held }
        }
        // Caught-up or skipped runs are facts, not an ongoing state.
        EventKind::Missed => Verdict::Send { held: 0 },
        _ => {
            let due = streak.last_sent.is_none_or(|t| now - t >= repeat);
            streak.since.get_or_insert(now);
            if due {
                let held = streak.held;
                streak.last_sent = Some(now);
                streak.held = 0;
                Verdict::Send { held }
            } else {
                streak.held += 1;
                Verdict::Hold
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_then_reminders_then_one_recovery() {
        let t0 = Utc::now();
        let at = |min: i64| t0 + chrono::Duration::minutes(min);
        let mut s = Streak::default();
        let repeat = DEFAULT_REPEAT;
        assert_eq!(
            decide(&mut s, EventKind::Recovery, at(0), repeat),
            Verdict::Hold
        );
        assert_eq!(
            decide(&mut s, EventKind::Failure, at(1), repeat),
            Verdict::Send { held: 0 }
        );
        for m in 2..7 {
            assert_eq!(
                decide(&mut s, EventKind::Failure, at(m), repeat),
                Verdict::Hold
            );
        }
        assert_eq!(
            decide(&mut s, EventKind::Failure, at(1 + 6 * 60), repeat),
            Verdict::Send { held: 5 }
        );
        assert_eq!(s.since, Some(at(1)));
        assert_eq!(
            decide(&mut s, EventKind::Recovery, at(400), repeat),
            Verdict::Send { held: 0 }
        );
        assert_eq!(
            decide(&mut s, EventKind::Recovery, at(401), repeat),
            Verdict::Hold
        );
        assert_eq!(s, Streak::default());
        assert_eq!(
            decide(&mut s, EventKind::Missed, at(402), repeat),
            Verdict::Send { held: 0 }
        );
    }
}

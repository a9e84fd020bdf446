//! Cron schedules in a time zone: parsing, the next fire times, and the
//! schedule in words. Pure: `now` is always an argument, never read here.
//!
//! croner matches the fields; the DST rule is tend's own, for every fixed
//! time ([`fields`]): a wall-clock time that a spring-forward skips runs
//! once at the first valid minute after it, one that a fall-back repeats
//! runs once (in its first pass). Interval schedules keep croner's real-time
//! rhythm. The day fields follow Vixie cron: with both restricted either
//! one matching fires; when one starts with `*` (`*/2`) both must match.

mod fields;
mod jitter;
mod once;

pub use jitter::spread;

use chrono::{DateTime, LocalResult, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use std::fmt;

/// A schedule never fires later than this many days ahead: patterns that
/// match no real date (`0 0 30 2 *`) are rejected when parsed. 28 years is
/// the calendar's full cycle of leap days and weekdays (`0 0 29 2 +1`, a
/// Monday 29 February, next fires in 2044).
const HORIZON_DAYS: i64 = 366 * 28;

/// Most matches a fixed-time search passes over (the matches of a
/// repeated or skipped hour) before it gives up.
const MAX_SKIPS: usize = 8000;

/// Why a schedule was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The expression is not valid croner syntax.
    #[error("invalid cron expression `{expr}`: {reason}")]
    Invalid {
        /// The expression as written.
        expr: String,
        /// What croner objected to.
        reason: String,
    },
    /// The expression is valid but matches no date.
    #[error("cron expression `{expr}` never fires (it matches no real date)")]
    Never {
        /// The expression as written.
        expr: String,
    },
}

/// A cron expression bound to an IANA time zone.
#[derive(Clone)]
pub struct Schedule {
    expr: String,
    tz: Tz,
    /// The expression; `None` for a one-off run.
    cron: Option<Cron>,
    /// `at`: the one instant of a one-off run.
    once: Option<DateTime<Utc>>,
    /// A fixed time (the DST rule applies), not an interval.
    fixed: bool,
    /// Every fire time is this much later than the expression says.
    offset: chrono::Duration,
    /// The jitter window the offset was taken from.
    jitter: std::time::Duration,
    /// [`Schedule::describe`], worked out once (croner takes ~35 µs).
    words: std::sync::OnceLock<String>,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr && self.tz == other.tz && self.offset == other.offset
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({:?} in {})", self.expr, self.tz)
    }
}

impl Schedule {
    /// Parses a 5-field (minute) or 6-field (second) croner expression or an
    /// alias (`@daily`, `@weekly`, …), checked to fire at least once within
    /// a few years of `now`.
    pub fn parse(expr: &str, tz: Tz, now: DateTime<Utc>) -> Result<Self, ScheduleError> {
        let invalid = |reason: String| ScheduleError::Invalid {
            expr: expr.to_owned(),
            reason,
        };
        let fields = expr.split_whitespace().count();
        if !expr.trim_start().starts_with('@') && !(5..=6).contains(&fields) {
            return Err(invalid(format!(
                "expected 5 fields (minute hour day month weekday) or 6 (with seconds first), found {fields}"
            )));
        }
        let expanded = fields::expand(expr);
        if let Some(why) = fields::problem(&expanded) {
            return Err(invalid(why));
        }
        let (fixed, and) = fields::kind(&expanded);
        let cron = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .dom_and_dow(and)
            .build()
            .parse(&expanded)
            .map_err(|e| invalid(e.to_string()))?;
        let schedule = Schedule {
            expr: expr.trim().to_owned(),
            tz,
            cron: Some(cron),
            once: None,
            fixed,
            offset: chrono::Duration::zero(),
            jitter: std::time::Duration::ZERO,
            words: std::sync::OnceLock::new(),
        };
        match schedule.next_after(now) {
            Some(t) if t.signed_duration_since(now).num_days() <= HORIZON_DAYS => Ok(schedule),
            _ => Err(ScheduleError::Never {
                expr: expr.to_owned(),
            }),
        }
    }

    /// The expression as written (trimmed).
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The time zone fire times are computed in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        let base = self.base_after(after.checked_sub_signed(self.offset)?)?;
        base.checked_add_signed(self.offset)
    }

    /// The first time the expression itself gives strictly after `after`.
    fn base_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        if let Some(t) = self.once {
            return (t > after).then(|| t.with_timezone(&self.tz));
        }
        if !self.fixed {
            let local = self.tz.from_utc_datetime(&after.naive_utc());
            return self.cron.as_ref()?.find_next_occurrence(&local, false).ok();
        }
        // Fixed times: match on the wall clock (as if it were UTC), then
        // place each match in the zone by the DST rule.
        let mut wall = Utc.from_utc_datetime(&after.with_timezone(&self.tz).naive_local());
        for _ in 0..MAX_SKIPS {
            let matched = self
                .cron
                .as_ref()?
                .find_next_occurrence(&wall, false)
                .ok()?;
            let naive = matched.naive_utc();
            let instant = match self.tz.from_local_datetime(&naive) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
                LocalResult::None => self.first_valid_after(naive),
            };
            match instant {
                Some(t) if t.with_timezone(&Utc) > after => return Some(t),
                // The first pass of a repeated time, or a skipped time whose
                // catch-up instant already passed: it ran (or will) once.
                _ => wall = matched,
            }
        }
        None
    }

    /// The first valid instant after a wall-clock time a spring-forward
    /// skipped (transitions fall on whole minutes).
    fn first_valid_after(&self, naive: chrono::NaiveDateTime) -> Option<DateTime<Tz>> {
        use chrono::Timelike;
        let start = naive.with_second(0)?;
        (1..=24 * 60).find_map(|m| {
            match self
                .tz
                .from_local_datetime(&(start + chrono::Duration::minutes(m)))
            {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
                LocalResult::None => None,
            }
        })
    }

    /// The next `n` fire times strictly after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Tz>> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after;
        while out.len() < n {
            let Some(next) = self.next_after(cursor) else {
                break;
            };
            cursor = next.with_timezone(&Utc);
            out.push(next);
        }
        out
    }

    /// Fire times `t` with `last < t <= now` and `t >= now - window`,
    /// oldest first, at most `cap` (the newest `cap` when there are more).
    pub fn missed(
        &self,
        last: DateTime<Utc>,
        now: DateTime<Utc>,
        window: std::time::Duration,
        cap: usize,
    ) -> Vec<DateTime<Utc>> {
        let window = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        let window_start = now.checked_sub_signed(window).unwrap_or(last);
        // `next_after` is exclusive: step back a moment to include an
        // instant exactly at the window's start (but never `last` itself).
        let floor = if window_start > last {
            window_start - chrono::Duration::milliseconds(1)
        } else {
            last
        };
        // Walk from the window's start; the first instant after `floor` is
        // found directly, so a long outage costs nothing per missed minute
        // beyond the instants kept.
        let mut out = std::collections::VecDeque::with_capacity(cap.min(1024));
        let mut cursor = floor;
        while let Some(t) = self.next_after(cursor).map(|t| t.with_timezone(&Utc)) {
            if t > now || cap == 0 {
                break;
            }
            if out.len() == cap {
                out.pop_front();
            }
            out.push_back(t);
            cursor = t;
        }
        out.into()
    }

    /// croner's words for the expression, corrected where they mislead:
    /// partial steps spelled out ([`fields::for_words`]), `LW` the last
    /// weekday.
    fn cron_words(&self, cron: &Cron) -> String {
        let expanded = fields::expand(&self.expr);
        let spelled = fields::for_words(&expanded);
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let words = match parser.parse(&spelled) {
            Ok(c) if spelled != expanded => c.describe(),
            _ => cron.describe(),
        };
        let dom = expanded.split_whitespace().rev().nth(2).unwrap_or_default();
        if dom.to_ascii_uppercase().contains("LW") {
            words.replace("the last day of the month", "the last weekday of the month")
        } else {
            words
        }
    }

    /// The schedule in English words, e.g. "At 03:00".
    pub fn describe(&self) -> &str {
        self.words.get_or_init(|| match (&self.cron, self.once) {
            (Some(cron), _) => self.cron_words(cron),
            (None, Some(t)) => format!(
                "Once, at {}",
                t.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S %Z")
            ),
            (None, None) => String::new(),
        })
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod model;
#[cfg(test)]
mod model_tests;

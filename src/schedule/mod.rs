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
    cron: Cron,
    /// A fixed time (the DST rule applies), not an interval.
    fixed: bool,
    /// Every fire time is this much later than the expression says.
    offset: chrono::Duration,
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
            cron,
            fixed,
            offset: chrono::Duration::zero(),
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

    /// The schedule with every fire time delayed by an offset in
    /// `[0, jitter)` taken from `name` (FNV-1a, so it is the same on every
    /// run and every build), at whole seconds.
    pub fn with_jitter(mut self, name: &str, jitter: std::time::Duration) -> Self {
        let span = jitter.as_secs();
        if span > 0 {
            let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            self.offset = chrono::Duration::seconds(i64::try_from(hash % span).unwrap_or(0));
        }
        self
    }

    /// The delay [`Schedule::with_jitter`] gave every fire time.
    pub fn offset(&self) -> std::time::Duration {
        self.offset.to_std().unwrap_or_default()
    }

    /// The first fire time strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        let base = self.base_after(after.checked_sub_signed(self.offset)?)?;
        base.checked_add_signed(self.offset)
    }

    /// The first time the expression itself gives strictly after `after`.
    fn base_after(&self, after: DateTime<Utc>) -> Option<DateTime<Tz>> {
        if !self.fixed {
            let local = self.tz.from_utc_datetime(&after.naive_utc());
            return self.cron.find_next_occurrence(&local, false).ok();
        }
        // Fixed times: match on the wall clock (as if it were UTC), then
        // place each match in the zone by the DST rule.
        let mut wall = Utc.from_utc_datetime(&after.with_timezone(&self.tz).naive_local());
        for _ in 0..MAX_SKIPS {
            let matched = self.cron.find_next_occurrence(&wall, false).ok()?;
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

    /// The schedule in English words, e.g. "At 03:00".
    pub fn describe(&self) -> &str {
        self.words.get_or_init(|| self.cron.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn next_fire_is_in_the_jobs_timezone() {
        let s = Schedule::parse(
            "0 3 * * *",
            chrono_tz::America::New_York,
            at("2026-01-10T12:00:00Z"),
        )
        .unwrap();
        let next = s.next_after(at("2026-01-10T12:00:00Z")).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-01-11T03:00:00-05:00");
    }

    #[test]
    fn aliases_and_six_fields_parse() {
        let now = at("2026-01-10T12:00:00Z");
        assert!(Schedule::parse("@weekly", Tz::UTC, now).is_ok());
        assert!(Schedule::parse("*/30 * * * * *", Tz::UTC, now).is_ok());
        assert!(Schedule::parse("0 4 * * MON", Tz::UTC, now).is_ok());
    }

    #[test]
    fn wrong_field_counts_and_impossible_dates_are_rejected() {
        let now = at("2026-01-10T12:00:00Z");
        assert!(matches!(
            Schedule::parse("0 3 * *", Tz::UTC, now),
            Err(ScheduleError::Invalid { .. })
        ));
        assert!(matches!(
            Schedule::parse("0 0 3 * * * 2030", Tz::UTC, now),
            Err(ScheduleError::Invalid { .. })
        ));
        assert!(matches!(
            Schedule::parse("0 0 30 2 *", Tz::UTC, now),
            Err(ScheduleError::Never { .. })
        ));
        assert!(matches!(
            Schedule::parse("61 * * * *", Tz::UTC, now),
            Err(ScheduleError::Invalid { .. })
        ));
    }

    fn berlin() -> Tz {
        "Europe/Berlin".parse().unwrap()
    }

    #[test]
    fn spring_forward_runs_a_skipped_time_once() {
        let now = at("2026-03-28T12:00:00Z");
        let s = Schedule::parse("30 2 * * *", berlin(), now).unwrap();
        let times: Vec<String> = s.upcoming(now, 2).iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            times,
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
    }

    #[test]
    fn fall_back_runs_a_repeated_time_once() {
        let now = at("2026-10-24T12:00:00Z");
        let s = Schedule::parse("30 2 * * *", berlin(), now).unwrap();
        let times: Vec<String> = s.upcoming(now, 2).iter().map(|t| t.to_rfc3339()).collect();
        assert_eq!(
            times,
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
    }

    fn times(expr: &str, tz: &str, from: &str, n: usize) -> Vec<String> {
        let tz: Tz = tz.parse().unwrap();
        let s = Schedule::parse(expr, tz, at(from)).unwrap();
        s.upcoming(at(from), n)
            .iter()
            .map(|t| t.to_rfc3339())
            .collect()
    }

    #[test]
    fn a_fixed_time_written_as_a_list_or_range_keeps_the_dst_rule() {
        // Fall back in New York (2026-11-01 02:00 EDT → 01:00 EST): 01:15 once.
        assert_eq!(
            times(
                "15 1,2,3 * * *",
                "America/New_York",
                "2026-11-01T04:00:00Z",
                3
            ),
            [
                "2026-11-01T01:15:00-04:00",
                "2026-11-01T02:15:00-05:00",
                "2026-11-01T03:15:00-05:00"
            ]
        );
        // Spring forward in Berlin (2026-03-29 02:00 → 03:00): 02:00 and 02:30 run once, at 03:00.
        assert_eq!(
            times("0,30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 3),
            [
                "2026-03-29T03:00:00+02:00",
                "2026-03-30T02:00:00+02:00",
                "2026-03-30T02:30:00+02:00"
            ]
        );
        assert_eq!(
            times(
                "0-59/30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00:00Z",
                1
            ),
            ["2026-03-29T03:00:00+02:00"]
        );
        // Dublin springs forward at 01:00 on the last Sunday of March.
        let dublin = times("5,35 1 * 3 0#L", "Europe/Dublin", "2026-01-01T00:00:00Z", 2);
        assert_eq!(
            dublin,
            ["2026-03-29T02:00:00+01:00", "2027-03-28T02:00:00+01:00"]
        );
        // An interval keeps its real-time rhythm: the repeated hour runs twice.
        let every = times("30 * * * *", "America/New_York", "2026-11-01T04:45:00Z", 3);
        assert_eq!(
            every,
            [
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:30:00-05:00",
                "2026-11-01T02:30:00-05:00"
            ]
        );
    }

    #[test]
    fn jitter_is_a_stable_offset_per_name_within_its_bound() {
        let now = at("2026-12-01T00:00:00Z");
        let plain = Schedule::parse("0 3 * * *", Tz::UTC, now).unwrap();
        let ten = std::time::Duration::from_secs(600);
        let a = plain.clone().with_jitter("backup-nas", ten);
        let again = plain.clone().with_jitter("backup-nas", ten);
        let b = plain.clone().with_jitter("backup-photos", ten);
        assert_eq!(a.offset(), again.offset(), "stable");
        assert_ne!(a.offset(), b.offset(), "names spread out");
        assert!(a.offset() < ten && b.offset() < ten);
        let base = plain.next_after(now).unwrap();
        let shifted = a.next_after(now).unwrap();
        assert_eq!(
            shifted - base,
            chrono::Duration::from_std(a.offset()).unwrap()
        );
        // An instant between the plain time and the jittered one is before the fire.
        assert_eq!(a.next_after(base.with_timezone(&Utc)).unwrap(), shifted);
        let missed = a.missed(now, shifted.with_timezone(&Utc), ten * 6, 10);
        assert_eq!(missed, [shifted.with_timezone(&Utc)]);
        assert!(
            a.missed(now, base.with_timezone(&Utc), ten * 6, 10)
                .is_empty()
        );
    }

    #[test]
    fn day_fields_follow_vixie_cron() {
        // `*/2` in the day of month is unrestricted-with-a-step: AND with Monday.
        let odd_mondays = times("0 0 */2 * MON", "UTC", "2026-12-01T00:00:00Z", 3);
        assert_eq!(
            odd_mondays,
            [
                "2026-12-07T00:00:00+00:00",
                "2026-12-21T00:00:00+00:00",
                "2027-01-11T00:00:00+00:00"
            ]
        );
        // Both restricted: either matches (the 1st, or any Monday).
        let either = times("0 0 1 * MON", "UTC", "2026-12-01T00:00:00Z", 3);
        assert_eq!(
            either,
            [
                "2026-12-07T00:00:00+00:00",
                "2026-12-14T00:00:00+00:00",
                "2026-12-21T00:00:00+00:00"
            ]
        );
        assert_eq!(
            times("@midnight", "UTC", "2026-12-01T10:00:00Z", 1),
            ["2026-12-02T00:00:00+00:00"]
        );
    }

    #[test]
    fn missed_fire_times_are_bounded_by_window_and_cap() {
        let now = at("2026-01-10T12:00:00Z");
        let s = Schedule::parse("0 * * * *", Tz::UTC, now).unwrap();
        let last = at("2026-01-10T08:30:00Z");
        let hours = std::time::Duration::from_secs(3600);
        let all = s.missed(last, now, hours * 24, 100);
        let shown: Vec<String> = all.iter().map(|t| t.format("%H:%M").to_string()).collect();
        assert_eq!(shown, ["09:00", "10:00", "11:00", "12:00"]);
        assert_eq!(
            s.missed(last, now, hours * 2, 100).len(),
            3,
            "10:00, 11:00, 12:00"
        );
        let capped = s.missed(last, now, hours * 24, 2);
        assert_eq!(
            capped
                .iter()
                .map(|t| t.format("%H").to_string())
                .collect::<Vec<_>>(),
            ["11", "12"]
        );
        assert!(s.missed(now, now, hours, 10).is_empty());
        let every_second = Schedule::parse("* * * * * *", Tz::UTC, now).unwrap();
        let year_ago = at("2025-01-10T12:00:00Z");
        assert_eq!(every_second.missed(year_ago, now, hours, 5).len(), 5);
    }

    #[test]
    fn upcoming_lists_distinct_increasing_times() {
        let now = at("2026-01-10T12:00:00Z");
        let s = Schedule::parse("*/15 * * * *", Tz::UTC, now).unwrap();
        let times = s.upcoming(now, 3);
        assert_eq!(times.len(), 3);
        assert_eq!(times[0].to_rfc3339(), "2026-01-10T12:15:00+00:00");
        assert_eq!(times[2].to_rfc3339(), "2026-01-10T12:45:00+00:00");
    }
}

#[cfg(test)]
mod model_tests;

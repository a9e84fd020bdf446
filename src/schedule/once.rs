//! One-off runs: `at: "2026-12-24T18:00:00"` — a local time in the job's
//! zone (a time a spring-forward skips is refused, a repeated one is its
//! first pass), or an RFC 3339 instant with an offset. The job fires once
//! at that instant; a stored last fire at or after it means done.

use super::{Schedule, ScheduleError};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

impl Schedule {
    /// A schedule that fires once, at `at` (see the module).
    pub fn once(at: &str, tz: Tz) -> Result<Schedule, ScheduleError> {
        let text = at.trim();
        let invalid = |reason: &str| ScheduleError::Invalid {
            expr: text.to_owned(),
            reason: reason.to_owned(),
        };
        let instant = match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                let naive = [
                    "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%dT%H:%M",
                    "%Y-%m-%d %H:%M:%S",
                    "%Y-%m-%d %H:%M",
                ]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
                .ok_or_else(|| {
                    invalid(
                        "expected a local time `YYYY-MM-DDTHH:MM[:SS]` or RFC 3339 with an offset",
                    )
                })?;
                tz.from_local_datetime(&naive)
                    .earliest()
                    .ok_or_else(|| {
                        invalid(&format!(
                            "this time does not exist in {tz} (a DST change skips it)"
                        ))
                    })?
                    .with_timezone(&Utc)
            }
        };
        Ok(Schedule {
            expr: text.to_owned(),
            tz,
            cron: None,
            once: Some(instant),
            fixed: true,
            offset: chrono::Duration::zero(),
            jitter: std::time::Duration::ZERO,
            words: std::sync::OnceLock::new(),
        })
    }

    /// The instant of a one-off schedule.
    pub fn once_at(&self) -> Option<DateTime<Utc>> {
        self.once
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_and_offsets() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let s = Schedule::once("2026-12-24T18:00", berlin).unwrap();
        assert_eq!(
            s.once_at().unwrap().to_rfc3339(),
            "2026-12-24T17:00:00+00:00"
        );
        let before = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(
            s.next_after(before).unwrap().to_rfc3339(),
            "2026-12-24T18:00:00+01:00"
        );
        assert_eq!(s.next_after(s.once_at().unwrap()), None, "once");
        let o = Schedule::once("2026-12-24T18:00:00-05:00", berlin).unwrap();
        assert_eq!(
            o.once_at().unwrap().to_rfc3339(),
            "2026-12-24T23:00:00+00:00"
        );
        assert!(
            Schedule::once("2026-03-29T02:30", berlin)
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
        assert!(Schedule::once("next tuesday", berlin).is_err());
        let missed = s.missed(
            before,
            Utc.with_ymd_and_hms(2026, 12, 25, 0, 0, 0).unwrap(),
            std::time::Duration::from_secs(86400),
            10,
        );
        assert_eq!(missed, [s.once_at().unwrap()]);
    }
}

//! Unit tests of schedules: parsing, zones, DST, day fields, jitter, missed runs.
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
    let offsets = super::spread(&[("backup-nas", ten), ("backup-photos", ten)]);
    assert_eq!(
        offsets,
        super::spread(&[("backup-nas", ten), ("backup-photos", ten)])
    );
    let a = plain.clone().with_jitter(ten).with_offset(offsets[0]);
    let b = plain.clone().with_jitter(ten).with_offset(offsets[1]);
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

#[test]
fn words_say_what_partial_steps_and_lw_do() {
    let now = at("2026-12-01T00:00:00Z");
    let words = |e: &str| {
        Schedule::parse(e, Tz::UTC, now)
            .unwrap()
            .describe()
            .to_owned()
    };
    assert!(
        !words("*/90 * * * *").contains("90"),
        "{}",
        words("*/90 * * * *")
    );
    for (expr, says) in [
        ("0-30/15 * * * * *", "0, 15, and 30"),
        ("*/15 * * * *", "every 15 minutes"),
        ("0 0 LW * *", "last weekday"),
        ("0 0 L * *", "last day"),
    ] {
        assert!(words(expr).contains(says), "{expr}: {}", words(expr));
    }
}

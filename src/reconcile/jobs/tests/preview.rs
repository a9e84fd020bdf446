//! The preview is the schedule: `tend jobs --from` prints
//! `Schedule::upcoming`, and the scheduler under the paused clock fires at
//! exactly those instants — fixed times, lists, intervals, seconds and
//! jitter — across New York's next DST change.

use super::*;
use chrono::{Offset, TimeZone};

/// The first whole hour after `from` at which `tz` changes its offset.
fn next_change(tz: chrono_tz::Tz, from: DateTime<Utc>) -> DateTime<Utc> {
    let hour = from.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let offset = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc()).fix();
    (1..24 * 400)
        .map(|h| hour + chrono::Duration::hours(h))
        .find(|t| offset(*t) != offset(*t - chrono::Duration::hours(1)))
        .expect("New York changes its clocks twice a year")
}

#[tokio::test(start_paused = true)]
async fn the_scheduler_fires_at_the_previewed_instants_across_a_dst_change() {
    let ny = "timezone: America/New_York, command: ['true']";
    let yaml = format!(
        "jobs:
  - {{ name: fixed, schedule: '30 1 * * *', {ny} }}
  - {{ name: skipped, schedule: '30 2 * * *', {ny} }}
  - {{ name: list, schedule: '15,45 1,2,3 * * *', {ny} }}
  - {{ name: interval, schedule: '*/20 * * * *', {ny} }}
  - {{ name: seconds, schedule: '30 */10 * * * *', {ny} }}
  - {{ name: jittered, schedule: '0 * * * *', jitter: 10m, {ny} }}
  - {{ name: jittered-too, schedule: '0 * * * *', jitter: 10m, {ny} }}
"
    );
    let change = next_change(chrono_tz::America::New_York, Utc::now());
    let (from, hours) = (change - chrono::Duration::hours(5), 10);
    let h = start_with(
        &yaml,
        from,
        (RunStatus::Succeeded, false),
        &[],
        Duration::ZERO,
    );
    h.wait(hours * 3600).await;
    let until = from + chrono::Duration::hours(hours as i64) - chrono::Duration::minutes(1);
    let applied = desired(tempfile::tempdir().unwrap().path(), &yaml, from);
    let mut fired_total = 0;
    for job in &applied.desired.jobs {
        let previewed: Vec<DateTime<Utc>> = job
            .schedule
            .as_ref()
            .unwrap()
            .upcoming(from, 500)
            .into_iter()
            .map(|t| t.with_timezone(&Utc))
            .filter(|t| *t <= until)
            .collect();
        let mut fired: Vec<DateTime<Utc>> = h
            .store
            .reader()
            .runs(Some(&job.name), None, 500, None)
            .unwrap()
            .into_iter()
            .filter_map(|r| r.scheduled_for)
            .filter(|t| *t <= until)
            .collect();
        fired.sort();
        assert!(!previewed.is_empty(), "{}", job.name);
        assert_eq!(fired, previewed, "{} around {change}", job.name);
        fired_total += fired.len();
    }
    assert!(fired_total > 100, "{fired_total}");
    h.stop().await;
}

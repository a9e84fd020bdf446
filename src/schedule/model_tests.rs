//! The scheduler against a brute-force model of the README's rules, over
//! generated expressions — lists, ranges, steps, both day fields; then
//! seconds fields, `L`, `LW`, `nW`, `n#k`, `n#L`, `nL`, names and aliases —
//! in zones with DST: New York, Berlin, Dublin, London, Sydney and Santiago
//! (southern hemisphere; Santiago changes at midnight), Havana (midnight),
//! Lord Howe (a 30-minute shift), Chatham (+12:45/+13:45), from instants
//! around each transition. The model shares no code with croner: it
//! matches fields itself and walks real time minute by minute (and the
//! matching seconds inside each minute), firing an interval schedule at
//! every matching wall-clock time, and a fixed time at the first pass of a
//! matching wall-clock minute or, once, at the first minute after a
//! spring-forward gap that swallowed a matching minute. Both the next fire
//! time and the instants an outage missed are compared.

use super::Schedule;
use super::model::Model;
use chrono::{DateTime, Datelike, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A tiny deterministic generator (the same cases on every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next(items.len() as u64) as usize]
    }
}

/// The instants of `tz`'s offset changes in 2026–2027.
fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let mut out = Vec::new();
    let mut t = start;
    while t.year() < 2028 {
        let next = t + Duration::minutes(15);
        if offset(next) != offset(t) {
            out.push(next);
        }
        t = next;
    }
    out
}

/// A generated case: the expression, the outage whose missed instants are
/// compared, and how far ahead the next fire time is compared.
struct Case {
    expr: String,
    outage: Duration,
    horizon: Duration,
}

/// Compares `case` in `zone` from `from` with the model: the next fire
/// time (within the horizon) and the instants the outage missed.
fn check(case: &Case, zone: &str, from: DateTime<Utc>) {
    let (expr, outage) = (case.expr.as_str(), case.outage);
    let tz: Tz = zone.parse().unwrap();
    let model = Model::new(expr);
    let horizon = case.horizon.num_minutes();
    let Ok(s) = Schedule::parse(expr, tz, from) else {
        panic!("{expr} in {zone} refused");
    };
    let ours = s.next_after(from).map(|t| t.with_timezone(&Utc));
    match model.next(tz, from, horizon) {
        Some(w) => assert_eq!(ours, Some(w), "{expr} in {zone} after {from}"),
        None => assert!(
            ours.is_some_and(|o| o > from + Duration::minutes(horizon)),
            "{expr} in {zone} after {from}: tend {ours:?}, model none within the horizon"
        ),
    }
    let until = from + outage;
    let mut want = Vec::new();
    let mut t = from;
    while let Some(next) = model
        .next(tz, t, outage.num_minutes() + 2)
        .filter(|n| *n <= until)
    {
        want.push(next);
        t = next;
    }
    let window = std::time::Duration::from_secs(48 * 3600);
    assert_eq!(
        s.missed(from, until, window, 1_000_000),
        want,
        "missed: {expr} in {zone} from {from}"
    );
}

/// Runs `per` generated cases from instants within a day of every
/// transition of `zones`; returns how many ran.
fn around_transitions(zones: &[&str], per: usize, mut case: impl FnMut(&mut Rng) -> Case) -> usize {
    let mut rng = Rng(0x7e4d);
    let mut cases = 0;
    for zone in zones {
        for change in transitions(zone.parse().unwrap()) {
            for _ in 0..per {
                let case = case(&mut rng);
                let minutes = rng.next(48 * 60) as i64 - 24 * 60;
                let from =
                    change + Duration::minutes(minutes) + Duration::seconds(rng.next(60) as i64);
                check(&case, zone, from);
                cases += 1;
            }
        }
    }
    cases
}

const ZONES: [&str; 9] = [
    "America/New_York",
    "Europe/Berlin",
    "Europe/Dublin",
    "Europe/London",
    "Australia/Sydney",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
];

#[test]
fn next_fire_times_agree_with_a_brute_force_model_around_dst() {
    let cases = around_transitions(&ZONES, 40, |rng| {
        let minute = rng.pick(&[
            "0", "30", "15,45", "0-59/20", "5-35/15", "*/30", "*/20", "*", "10,40", "59",
        ]);
        let hour = rng.pick(&[
            "0", "1", "2", "3", "1,2,3", "0-4", "1-3/2", "*", "*/2", "2,14", "0-23/3", "23",
        ]);
        let dom = rng.pick(&["*", "*", "*/2", "1-15", "25-31", "*/3"]);
        let dow = rng.pick(&["*", "*", "0", "1-5", "6,0", "0-3"]);
        Case {
            expr: format!("{minute} {hour} {dom} * {dow}"),
            outage: Duration::hours(30),
            horizon: Duration::days(3),
        }
    });
    assert!(cases >= 1000, "{cases} cases");
}

#[test]
fn seconds_special_days_names_and_aliases_agree_with_the_model_too() {
    let cases = around_transitions(&ZONES, 30, special);
    assert!(cases >= 1000, "{cases} cases");
}

#[test]
fn special_days_agree_with_the_model_on_dates_across_five_years() {
    let mut rng = Rng(0x51de);
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    for _ in 0..1200 {
        let zone = ZONES[rng.next(ZONES.len() as u64) as usize];
        let from = start + Duration::minutes(rng.next(5 * 365 * 24 * 60) as i64);
        check(&special(&mut rng), zone, from);
    }
}

/// An expression with seconds, special days, names or an alias.
fn special(rng: &mut Rng) -> Case {
    if rng.next(8) == 0 {
        let alias = rng.pick(&["@hourly", "@daily", "@midnight", "@weekly", "@monthly"]);
        return Case {
            expr: alias.to_owned(),
            outage: Duration::hours(30),
            horizon: Duration::days(40),
        };
    }
    let seconds = rng.next(3) == 0;
    let second = rng.pick(&["0", "30", "0,30", "15-45/15", "*/20", "5", "*/30"]);
    let minute = rng.pick(&["0", "30", "0-59/15", "*/30", "*", "45", "0,20,40"]);
    let hour = rng.pick(&["0", "1", "2", "3", "1-3", "*", "*/4", "0,12", "2-23/6"]);
    let kind = rng.next(4);
    let (dom, dow) = match kind {
        0 => (rng.pick(&["L", "LW", "15W", "1W", "30W", "L,15"]), "*"),
        1 => (
            "*",
            rng.pick(&["5#L", "0#L", "1#1", "MON#2", "3#5", "5L", "SUN"]),
        ),
        2 => (
            rng.pick(&["1-7", "L", "10-20", "LW"]),
            rng.pick(&["MON", "FRI#L", "SAT-SUN", "2#3"]),
        ),
        _ => (
            rng.pick(&["*", "*/2", "1-15"]),
            rng.pick(&["MON-FRI", "*", "TUE,THU"]),
        ),
    };
    let month = rng.pick(&["*", "*", "*", "JAN-JUN", "*/2", "MAR,APR,SEP,OCT,NOV"]);
    let expr = format!("{minute} {hour} {dom} {month} {dow}");
    // Special days are a few a month: look far enough ahead to meet them.
    let horizon = Duration::days(if kind < 3 { 40 } else { 3 });
    match seconds {
        true => Case {
            expr: format!("{second} {expr}"),
            outage: Duration::hours(4),
            horizon,
        },
        false => Case {
            expr,
            outage: Duration::hours(30),
            horizon,
        },
    }
}

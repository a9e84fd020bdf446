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
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
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

const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// A number or a name (`MON`, `JAN`: position in `names` plus `base`).
fn value(text: &str, names: &[&str], base: u32) -> u32 {
    let upper = text.to_ascii_uppercase();
    match names.iter().position(|n| *n == upper) {
        Some(i) => i as u32 + base,
        None => text.parse().unwrap(),
    }
}

/// The allowed plain values of one field in `min..=max` (parts with `L`,
/// `W` or `#` are left to [`Days`]).
fn field(spec: &str, min: u32, max: u32, names: &[&str], base: u32) -> Vec<bool> {
    let mut ok = vec![false; max as usize + 1];
    for part in spec.split(',').filter(|p| !p.contains(['L', 'W', '#'])) {
        let (range, step) = part
            .split_once('/')
            .map_or((part, 1), |(r, s)| (r, s.parse().unwrap()));
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a, names, base), value(b, names, base)),
                None if step > 1 => (value(r, names, base), max),
                None => (value(r, names, base), value(r, names, base)),
            },
        };
        // `SAT-SUN`: Sunday ends a weekday range as 7.
        let hi = if max == 7 && hi == 0 && lo > 0 { 7 } else { hi };
        let mut v = lo;
        while v <= hi {
            ok[v as usize] = true;
            v += step;
        }
    }
    ok
}

fn month_len(d: NaiveDate) -> u32 {
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap();
    let next = first + chrono::Months::new(1);
    (next - first).num_days() as u32
}

/// The weekday (0 = Sunday) of day `n` of `d`'s month.
fn weekday_of(d: NaiveDate, n: u32) -> u32 {
    d.with_day(n).unwrap().weekday().num_days_from_sunday()
}

/// Whether `d` is the weekday nearest to day `n` of its month, never
/// leaving the month (the `nW` rule).
fn nearest_weekday(d: NaiveDate, n: u32) -> bool {
    let len = month_len(d);
    if n > len {
        return false;
    }
    let target = match weekday_of(d, n) {
        6 if n == 1 => 3,
        6 => n - 1,
        0 if n == len => n - 2,
        0 => n + 1,
        _ => n,
    };
    d.day() == target
}

/// The two day fields.
struct Days {
    dom: Vec<bool>,
    dom_parts: Vec<String>,
    dow: Vec<bool>,
    dow_parts: Vec<String>,
    and: bool,
}

impl Days {
    fn new(dom: &str, dow: &str) -> Days {
        let mut dow_bits = field(dow, 0, 7, &DAYS, 0);
        dow_bits[0] |= dow_bits[7];
        let specials = |s: &str| {
            s.split(',')
                .filter(|p| p.contains(['L', 'W', '#']))
                .map(str::to_ascii_uppercase)
                .collect()
        };
        Days {
            dom: field(dom, 1, 31, &[], 0),
            dom_parts: specials(dom),
            dow: dow_bits,
            dow_parts: specials(dow),
            and: dom.starts_with('*') || dow.starts_with('*'),
        }
    }

    fn matches(&self, d: NaiveDate) -> bool {
        let len = month_len(d);
        let dom = self.dom[d.day() as usize]
            || self.dom_parts.iter().any(|p| match p.as_str() {
                "L" => d.day() == len,
                "LW" => {
                    (1..=len)
                        .rev()
                        .find(|n| (1..=5).contains(&weekday_of(d, *n)))
                        == Some(d.day())
                }
                w => nearest_weekday(d, w.trim_end_matches('W').parse().unwrap()),
            });
        let wd = d.weekday().num_days_from_sunday();
        let dow = self.dow[wd as usize]
            || self.dow_parts.iter().any(|p| {
                let (day, nth) = p.split_once('#').unwrap_or((p.trim_end_matches('L'), "L"));
                let day = value(day, &DAYS, 0) % 7;
                day == wd
                    && match nth {
                        "L" => d.day() + 7 > len,
                        k => (d.day() - 1) / 7 + 1 == k.parse::<u32>().unwrap(),
                    }
            });
        if self.and { dom && dow } else { dom || dow }
    }
}

struct Model {
    seconds: Vec<u32>,
    minute: Vec<bool>,
    hour: Vec<bool>,
    month: Vec<bool>,
    days: Days,
    fixed: bool,
}

impl Model {
    fn new(expr: &str) -> Model {
        let expr = match expr {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            e => e,
        };
        let mut f: Vec<&str> = expr.split_whitespace().collect();
        if f.len() == 5 {
            f.insert(0, "0");
        }
        let star = |s: &str| s.starts_with('*');
        let seconds = field(f[0], 0, 59, &[], 0);
        Model {
            seconds: (0..60).filter(|s| seconds[*s as usize]).collect(),
            minute: field(f[1], 0, 59, &[], 0),
            hour: field(f[2], 0, 23, &[], 0),
            month: field(f[4], 1, 12, &MONTHS, 1),
            days: Days::new(f[3], f[5]),
            fixed: !star(f[0]) && !star(f[1]) && !star(f[2]),
        }
    }

    /// Whether the wall-clock minute `w` matches (any of its seconds).
    fn matches(&self, w: NaiveDateTime) -> bool {
        self.minute[w.minute() as usize]
            && self.hour[w.hour() as usize]
            && self.day_matches(w.date())
    }

    /// Whether the date `d` matches the month and day fields.
    fn day_matches(&self, d: NaiveDate) -> bool {
        self.month[d.month() as usize] && self.days.matches(d)
    }

    /// The first fire time after `after` within `limit` minutes.
    fn next(&self, tz: Tz, after: DateTime<Utc>, limit: i64) -> Option<DateTime<Utc>> {
        let wall = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
        let mut t = after.with_second(0).unwrap().with_nanosecond(0).unwrap();
        let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
        let mut walked = 0;
        while walked < limit {
            let w = wall(t);
            // A whole hour on a day that does not match, with no change of
            // offset inside it, holds no fire time (and no gap): skip it.
            let hour = t + Duration::hours(1);
            if !self.day_matches(w.date())
                && wall(hour).date() == w.date()
                && offset(hour) == offset(t)
                && t > after
            {
                t = hour;
                walked += 60;
                continue;
            }
            walked += 1;
            if self.fixed {
                let mut g = wall(t - Duration::minutes(1)) + Duration::minutes(1);
                let mut gap = false;
                while g < w && !gap {
                    gap = self.matches(g);
                    g += Duration::minutes(1);
                }
                if gap && t > after {
                    return Some(t);
                }
            }
            let first_pass = tz
                .from_local_datetime(&w)
                .earliest()
                .is_some_and(|e| e == t.with_timezone(&tz));
            if self.matches(w) && (first_pass || !self.fixed) {
                let hit = self
                    .seconds
                    .iter()
                    .map(|s| t + Duration::seconds(i64::from(*s)))
                    .find(|i| *i > after);
                if hit.is_some() {
                    return hit;
                }
            }
            t += Duration::minutes(1);
        }
        None
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

//! The brute-force cron model of the README's rules, for the model tests:
//! its own field matcher (numbers, names, ranges, steps, `L`, `LW`, `nW`,
//! `n#k`, `n#L`, `nL`, Vixie cron's day-field rule) and a real-time walk,
//! minute by minute and the matching seconds inside each, that places
//! fixed times by the DST rule. It shares no code with croner or with
//! [`super::Schedule`].

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;

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

pub struct Model {
    seconds: Vec<u32>,
    minute: Vec<bool>,
    hour: Vec<bool>,
    month: Vec<bool>,
    days: Days,
    fixed: bool,
}

impl Model {
    /// The model of `expr` (5 or 6 fields, or an alias).
    pub fn new(expr: &str) -> Model {
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
    pub fn next(&self, tz: Tz, after: DateTime<Utc>, limit: i64) -> Option<DateTime<Utc>> {
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

//! The scheduler against a brute-force model of the README's rules, over
//! generated expressions (lists, ranges, steps, both day fields) in zones
//! with DST — New York, Berlin, Dublin, Sydney (southern hemisphere), Lord
//! Howe (a 30-minute shift) — from instants around each transition. The
//! model shares no code with croner: it matches fields itself and walks
//! real time minute by minute, firing an interval schedule at every
//! matching wall-clock minute, and a fixed time at the first pass of a
//! matching wall-clock minute or, once, right after a spring-forward gap
//! that swallowed a matching minute. Both the next fire time and the
//! instants a 30-hour outage missed are compared.

use super::Schedule;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
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

/// The allowed values of one field in `min..=max`.
fn field(spec: &str, min: u32, max: u32) -> Vec<bool> {
    let mut ok = vec![false; max as usize + 1];
    for part in spec.split(',') {
        let (range, step) = part
            .split_once('/')
            .map_or((part, 1), |(r, s)| (r, s.parse().unwrap()));
        let (lo, hi) = match range {
            "*" => (min, max),
            r => match r.split_once('-') {
                Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                None if step > 1 => (r.parse().unwrap(), max),
                None => (r.parse().unwrap(), r.parse().unwrap()),
            },
        };
        let mut v = lo;
        while v <= hi {
            ok[v as usize] = true;
            v += step;
        }
    }
    ok
}

struct Model {
    minute: Vec<bool>,
    hour: Vec<bool>,
    dom: Vec<bool>,
    month: Vec<bool>,
    dow: Vec<bool>,
    and: bool,
    fixed: bool,
}

impl Model {
    fn new(expr: &str) -> Model {
        let f: Vec<&str> = expr.split_whitespace().collect();
        let mut dow = field(f[4], 0, 7);
        dow[0] |= dow[7];
        let star = |s: &str| s.starts_with('*');
        Model {
            minute: field(f[0], 0, 59),
            hour: field(f[1], 0, 23),
            dom: field(f[2], 1, 31),
            month: field(f[3], 1, 12),
            dow,
            and: star(f[2]) || star(f[4]),
            fixed: !star(f[0]) && !star(f[1]),
        }
    }

    fn matches(&self, w: NaiveDateTime) -> bool {
        let (d, wd) = (
            self.dom[w.day() as usize],
            self.dow[w.weekday().num_days_from_sunday() as usize],
        );
        let day = if self.and { d && wd } else { d || wd };
        self.minute[w.minute() as usize]
            && self.hour[w.hour() as usize]
            && self.month[w.month() as usize]
            && day
    }

    /// The first fire time after `after` within `limit` minutes.
    fn next(&self, tz: Tz, after: DateTime<Utc>, limit: i64) -> Option<DateTime<Utc>> {
        let wall = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
        let mut t = after.with_second(0).unwrap().with_nanosecond(0).unwrap();
        for _ in 0..limit {
            let prev = t;
            t += Duration::minutes(1);
            let w = wall(t);
            let first_pass = tz
                .from_local_datetime(&w)
                .earliest()
                .is_some_and(|e| e == t.with_timezone(&tz));
            let hit = if self.fixed {
                let gap = (wall(prev) + Duration::minutes(1)..w)
                    .step_by_minutes()
                    .into_iter()
                    .any(|g| self.matches(g));
                (self.matches(w) && first_pass) || gap
            } else {
                self.matches(w)
            };
            if hit && t > after {
                return Some(t);
            }
        }
        None
    }
}

trait Minutes {
    fn step_by_minutes(self) -> Vec<NaiveDateTime>;
}

impl Minutes for std::ops::Range<NaiveDateTime> {
    fn step_by_minutes(self) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let mut g = self.start;
        while g < self.end && out.len() < 24 * 60 {
            out.push(g);
            g += Duration::minutes(1);
        }
        out
    }
}

/// The instants of `tz`'s offset changes in 2026–2027.
fn transitions(tz: Tz) -> Vec<DateTime<Utc>> {
    use chrono::Offset;
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let mut out = Vec::new();
    let mut t = start;
    while t.year() < 2028 {
        let next = t + Duration::minutes(30);
        if offset(next) != offset(t) {
            out.push(next);
        }
        t = next;
    }
    out
}

#[test]
fn next_fire_times_agree_with_a_brute_force_model_around_dst() {
    let zones = [
        "America/New_York",
        "Europe/Berlin",
        "Europe/Dublin",
        "Australia/Sydney",
        "Australia/Lord_Howe",
    ];
    let mut rng = Rng(0x7e4d);
    let mut cases = 0;
    for zone in zones {
        let tz: Tz = zone.parse().unwrap();
        for change in transitions(tz) {
            for _ in 0..60 {
                let minute = rng.pick(&[
                    "0", "30", "15,45", "0-59/20", "5-35/15", "*/30", "*/20", "*", "10,40", "59",
                ]);
                let hour = rng.pick(&[
                    "1", "2", "3", "1,2,3", "0-4", "1-3/2", "*", "*/2", "2,14", "0-23/3",
                ]);
                let dom = rng.pick(&["*", "*", "*/2", "1-15", "25-31", "*/3"]);
                let dow = rng.pick(&["*", "*", "0", "1-5", "6,0", "0-3"]);
                let expr = format!("{minute} {hour} {dom} * {dow}");
                let from = change + Duration::minutes(rng.next(48 * 60) as i64 - 24 * 60);
                let model = Model::new(&expr);
                let horizon = 3 * 24 * 60;
                let Ok(s) = Schedule::parse(&expr, tz, from) else {
                    panic!("{expr} in {zone} refused");
                };
                let ours = s.next_after(from).map(|t| t.with_timezone(&Utc));
                let want = model.next(tz, from, horizon);
                match want {
                    Some(w) => assert_eq!(ours, Some(w), "{expr} in {zone} after {from}"),
                    None => assert!(
                        ours.is_some_and(|o| o > from + Duration::minutes(horizon)),
                        "{expr} in {zone} after {from}: tend {ours:?}, model none within 3 days"
                    ),
                }
                // The missed instants of a 30-hour outage: every model fire time.
                let until = from + Duration::hours(30);
                let mut want_all = Vec::new();
                let mut t = from;
                while let Some(next) = model.next(tz, t, 30 * 60).filter(|n| *n <= until) {
                    want_all.push(next);
                    t = next;
                }
                let day = std::time::Duration::from_secs(48 * 3600);
                assert_eq!(
                    s.missed(from, until, day, 10_000),
                    want_all,
                    "missed: {expr} in {zone} from {from}"
                );
                cases += 1;
            }
        }
    }
    assert!(cases >= 1000, "{cases} cases");
}

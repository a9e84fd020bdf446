//! What a cron expression's fields say before croner reads them: aliases
//! spelled out (`@midnight` too), whether the time is *fixed* or an
//! *interval* (Vixie cron's rule: fixed unless the second, minute or hour
//! field starts with `*`; so `15 1,2 * * *` and `0-23/2` are fixed times,
//! `*/15` and `0 *` intervals), and whether the two day fields combine
//! with AND (either one starts with `*`, as Vixie cron treats `*/2`) or OR
//! (both restricted).

/// The expression in 5 or 6 fields, aliases replaced.
pub fn expand(expr: &str) -> String {
    let e = expr.trim();
    let alias = match e.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => Some("0 0 1 1 *"),
        "@monthly" => Some("0 0 1 * *"),
        "@weekly" => Some("0 0 * * 0"),
        "@daily" | "@midnight" => Some("0 0 * * *"),
        "@hourly" => Some("0 * * * *"),
        _ => None,
    };
    alias.map_or_else(|| e.to_owned(), str::to_owned)
}

/// A syntax problem croner lets through: an empty list item (`1,`,
/// `0,,30`, `,`) would be dropped silently, and `L` alone in the weekday
/// field would never fire.
pub fn problem(expanded: &str) -> Option<String> {
    let fields: Vec<&str> = expanded.split_whitespace().collect();
    let names = if fields.len() == 6 {
        [
            "second",
            "minute",
            "hour",
            "day of month",
            "month",
            "weekday",
        ]
        .as_slice()
    } else {
        ["minute", "hour", "day of month", "month", "weekday"].as_slice()
    };
    for (f, name) in fields.iter().zip(names) {
        if f.split(',').any(str::is_empty) {
            return Some(format!("the {name} field `{f}` has an empty list item"));
        }
    }
    let weekday = fields.last().copied().unwrap_or_default();
    if weekday.split(',').any(|i| i.eq_ignore_ascii_case("L")) {
        return Some(format!(
            "`L` in the weekday field `{weekday}` needs a day before it, e.g. `5L` (the last Friday)"
        ));
    }
    None
}

/// The expression as croner should describe it: a stepped second, minute
/// or hour part that does not run over the whole field (`0-30/15`,
/// `*/90`, `5/20`) spelled out as the values it matches, since croner's
/// words call each of those "every N".
pub fn for_words(expanded: &str) -> String {
    let mut fields: Vec<String> = expanded.split_whitespace().map(str::to_owned).collect();
    let time = if fields.len() == 6 { 0..3 } else { 0..2 };
    let spans = if fields.len() == 6 {
        [59, 59, 23]
    } else {
        [59, 23, 0]
    };
    for (i, max) in time.zip(spans) {
        fields[i] = spelled(&fields[i], max);
    }
    fields.join(" ")
}

/// `field` with each partial step expanded (at most 30 values), else as is.
fn spelled(field: &str, max: u32) -> String {
    let mut values = Vec::new();
    for part in field.split(',') {
        let Some((range, step)) = part.split_once('/') else {
            return field.to_owned();
        };
        let Ok(step) = step.parse::<u32>() else {
            return field.to_owned();
        };
        let (lo, hi) = match range.split_once('-') {
            _ if range == "*" => (0, max),
            Some((a, b)) => match (a.parse(), b.parse()) {
                (Ok(a), Ok(b)) => (a, b),
                _ => return field.to_owned(),
            },
            None => match range.parse() {
                Ok(a) => (a, max),
                Err(_) => return field.to_owned(),
            },
        };
        if step == 0
            || (lo == 0 && hi == max && step <= max / 2 + 1 && (max + 1).is_multiple_of(step))
        {
            return field.to_owned();
        }
        values.extend((lo..=hi.min(max)).step_by(step as usize));
    }
    if values.is_empty() || values.len() > 30 {
        return field.to_owned();
    }
    values.sort_unstable();
    values.dedup();
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// (fixed time, day fields ANDed) of an expanded expression.
pub fn kind(expanded: &str) -> (bool, bool) {
    let mut fields: Vec<&str> = expanded.split_whitespace().collect();
    if fields.len() == 5 {
        fields.insert(0, "0");
    }
    let star = |f: Option<&&str>| f.is_some_and(|f| f.starts_with('*') || f.starts_with('?'));
    let fixed = !(star(fields.first()) || star(fields.get(1)) || star(fields.get(2)));
    let and = star(fields.get(3)) || star(fields.get(5));
    (fixed, and)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_times_intervals_and_day_rules() {
        assert_eq!(kind("15 1,2,3 * * *"), (true, true));
        assert_eq!(kind("0 0-23/2 * * *"), (true, true));
        assert_eq!(kind("*/15 * * * *"), (false, true));
        assert_eq!(kind("0 * * * *"), (false, true));
        assert_eq!(kind("*/10 0 3 * * *"), (false, true));
        assert_eq!(kind("0 0 */2 * MON"), (true, true));
        assert_eq!(kind("0 0 1-7 * MON"), (true, false));
        assert_eq!(expand("@midnight"), "0 0 * * *");
        assert_eq!(kind(&expand("@hourly")), (false, true));
        assert_eq!(for_words("*/90 * * * *"), "0 * * * *");
        assert_eq!(for_words("0-30/15 * * * * *"), "0,15,30 * * * * *");
        assert_eq!(for_words("*/15 * * * *"), "*/15 * * * *");
        assert_eq!(
            for_words("0-23/2 0 * * *"),
            "0,2,4,6,8,10,12,14,16,18,20,22 0 * * *"
        );
        for bad in [
            "0 0 * * ,1",
            "1, * * * *",
            "0,,30 * * * *",
            "0 0 , * *",
            "0 0 * * L",
        ] {
            assert!(problem(bad).is_some(), "{bad}");
        }
        for good in ["0 0 * * 5L", "0 0 L * *", "0 0 LW * *", "0 0,30 * * *"] {
            assert_eq!(problem(good), None, "{good}");
        }
    }
}

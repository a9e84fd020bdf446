//! Checks of single values: durations (`90s`, `1h30m`), names, and the
//! `${env:NAME}` / `${file:/path}` secret references (checked for syntax
//! only; they are resolved on the running host, never at validation).

use std::time::Duration;

/// Parses a duration such as `90s`, `30m`, `1h30m`, `2d` or `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "invalid duration `{text}`: expected a number and a unit (ms, s, m, h, d), e.g. `90s`, `30m`, `1h30m`"
        )
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(bad());
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let number: u128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.len()
            - rest
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .len();
        let millis = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += number * millis;
    }
    u64::try_from(total)
        .map(Duration::from_millis)
        .map_err(|_| bad())
}

/// Checks a name used as a key in URLs and container names.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok_start = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    let ok_rest = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok_start && ok_rest && name.len() <= 63 {
        Ok(())
    } else {
        Err(format!(
            "invalid {what} name `{name}`: use 1-63 lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit"
        ))
    }
}

/// Checks an environment variable name.
pub fn check_env_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid environment variable name `{name}`: use letters, digits and `_`, not starting with a digit"
        ))
    }
}

/// Checks every `${…}` reference in `text`: `${env:NAME}` or `${file:/abs/path}`.
/// `$${` is a literal `${`. Returns the byte offset and message of the first
/// bad reference.
pub fn check_references(text: &str) -> Result<(), (usize, String)> {
    let mut i = 0;
    while let Some(found) = text[i..].find('$') {
        let at = i + found;
        let rest = &text[at..];
        if rest.starts_with("$${") {
            i = at + 3;
            continue;
        }
        if !rest.starts_with("${") {
            i = at + 1;
            continue;
        }
        let Some(end) = rest.find('}') else {
            return Err((at, "unterminated `${` reference (missing `}`)".into()));
        };
        check_reference(&rest[2..end]).map_err(|m| (at, m))?;
        i = at + end + 1;
    }
    Ok(())
}

fn check_reference(inner: &str) -> Result<(), String> {
    match inner.split_once(':') {
        Some(("env", name)) => check_env_name(name).map_err(|e| format!("in `${{{inner}}}`: {e}")),
        Some(("file", path)) if path.starts_with('/') && path.len() > 1 => Ok(()),
        Some(("file", path)) => Err(format!(
            "`${{file:{path}}}` needs an absolute path on the host running tend"
        )),
        _ => Err(format!(
            "unknown reference `${{{inner}}}`: use `${{env:NAME}}` or `${{file:/path}}`"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "10", "m", "1x", "1.5h", "-1s", "1h 30m", "9999999999h"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn references() {
        assert!(check_references("discord://${env:ID}/${env:TOKEN}").is_ok());
        assert!(check_references("${file:/run/secrets/x}").is_ok());
        assert!(check_references("cost: $5 and $${literal}").is_ok());
        assert_eq!(check_references("a ${env:1X}").unwrap_err().0, 2);
        assert!(check_references("${vault:x}").is_err());
        assert!(check_references("${file:relative}").is_err());
        assert!(check_references("${env:X").is_err());
    }

    #[test]
    fn names() {
        assert!(check_name("job", "nightly-backup").is_ok());
        assert!(check_name("job", "Nightly").is_err());
        assert!(check_name("job", "").is_err());
        assert!(check_name("job", "-x").is_err());
    }
}

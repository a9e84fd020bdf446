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

/// Checks an image reference against the grammar of the distribution
/// library that Docker uses: `[domain[:port]/]path[:tag][@algo:hex]`, path
/// components lowercase alphanumerics joined by `.`, `_`, `__` or dashes.
pub fn check_image(reference: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "`{reference}` is not a valid image reference: {why}"
        ))
    };
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    if let Some(d) = digest {
        let ok = d.split_once(':').is_some_and(|(algo, hex)| {
            algo.starts_with(|c: char| c.is_ascii_alphabetic())
                && algo
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c))
                && hex.len() >= 32
                && hex.chars().all(|c| c.is_ascii_hexdigit())
        });
        if !ok {
            return bad("the digest must be `algorithm:hex` (e.g. sha256:…)");
        }
    }
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = t.len() <= 128
            && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !ok {
            return bad("a tag is letters, digits, `_`, `.` and `-` (at most 128)");
        }
    }
    if name.is_empty() || name.len() > 255 {
        return bad("the name must be 1 to 255 characters");
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    let first = parts[0];
    if parts.len() > 1
        && (first.contains(['.', ':'])
            || first == "localhost"
            || first.chars().any(|c| c.is_ascii_uppercase()))
    {
        let (host, port) = first.split_once(':').unwrap_or((first, ""));
        let host_ok = host.split('.').all(|c| {
            !c.is_empty()
                && !c.starts_with('-')
                && !c.ends_with('-')
                && c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-')
        }) || (host.starts_with('[') && host.ends_with(']'));
        if !host_ok
            || (first.contains(':')
                && (port.is_empty() || !port.chars().all(|c| c.is_ascii_digit())))
        {
            return bad("the registry host is not a valid host[:port]");
        }
        parts.remove(0);
    }
    for p in parts {
        if !path_component(p) {
            return bad(&format!(
                "`{p}`: name components are lowercase letters and digits, joined by `.`, `_`, `__` or `-`"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn path_component(p: &str) -> bool {
    let b = p.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &p[start..i];
        let ok = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod image_tests {
    use super::check_image;

    #[test]
    fn image_references_as_docker_reads_them() {
        for ok in [
            "busybox",
            "localhost/busybox:v1",
            "lscr.io/linuxserver/sonarr:latest",
            "registry.lan:5000/a/b-c__d.e:1.2_x",
            "ghcr.io/home-assistant/home-assistant:stable",
            "postgres@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "127.0.0.1:5000/app",
        ] {
            assert_eq!(check_image(ok), Ok(()), "{ok}");
        }
        for bad in [
            "localhost/Not_A_Valid:ref:x",
            "Busybox",
            "busybox:",
            "a//b",
            "app:-tag",
            "app@sha256:xyz",
            "reg:port/app",
            "",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
    }
}

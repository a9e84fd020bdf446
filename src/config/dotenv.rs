//! Dotenv files as compose reads them (a stack's `.env`, `env_file`s):
//! `KEY=value` lines, `export KEY=value`, `#` comments (inline only after
//! a space in unquoted values), single quotes (literal), double quotes
//! (escapes `\n`, `\t`, `\"`, `\\`, `\$`; may span lines), and `${VAR}`
//! (only the braced form; any other `$` is literal) expanded in unquoted and double-quoted values from the lines above (an
//! unknown variable expands to nothing there, as compose does). A line that
//! is none of these is an error at its line and column.

use super::interpolate::substitute;
use super::node::Pos;

/// The variables of `text`, in file order (a later one wins), or the
/// position and reason of the first line that is not dotenv.
pub fn parse(text: &str) -> Result<Vec<(String, String)>, (Pos, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i as u32 + 1;
        let raw = lines[i];
        i += 1;
        let line = raw.trim_start();
        let indent = (raw.len() - line.len()) as u32;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        let at = |col: usize, msg: String| (Pos::new(line_no, indent + col as u32 + 1), msg);
        let key_len = line
            .bytes()
            .take_while(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
            .count();
        let (key, rest) = line.split_at(key_len);
        let rest_trim = rest.trim_start();
        if key.is_empty() || key.as_bytes()[0].is_ascii_digit() {
            return Err(at(
                0,
                format!("`{}` is not a `KEY=value` line", short(line)),
            ));
        }
        if rest_trim.is_empty() {
            continue; // `KEY` alone: named, no value
        }
        let Some(value) = rest_trim.strip_prefix('=') else {
            return Err(at(
                key_len + (rest.len() - rest_trim.len()),
                format!("expected `=` after `{key}`, found `{}`", short(rest_trim)),
            ));
        };
        let value = value.trim_start();
        let lookup = |k: &str| {
            Some(
                out.iter()
                    .rev()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            )
        };
        let parsed = if let Some(body) = value.strip_prefix('\'') {
            quoted(body, '\'', &lines, &mut i).ok_or_else(|| {
                at(
                    key_len + 1,
                    format!("the value of {key} opens a `'` that is never closed"),
                )
            })?
        } else if let Some(body) = value.strip_prefix('"') {
            let text = quoted(body, '"', &lines, &mut i).ok_or_else(|| {
                at(
                    key_len + 1,
                    format!("the value of {key} opens a `\"` that is never closed"),
                )
            })?;
            substitute(&braced_only(&unescape(&text)), &lookup).map_err(|e| at(key_len + 1, e))?
        } else {
            let end = value
                .find(" #")
                .or_else(|| value.find("\t#"))
                .unwrap_or(value.len());
            let v = value[..end].trim_end();
            substitute(&braced_only(v), &lookup).map_err(|e| at(key_len + 1, e))?
        };
        out.push((key.to_owned(), parsed));
    }
    Ok(out)
}

/// Only `${…}` expands in a dotenv value, as docker-compose reads them: a
/// `$` not followed by `{` (a password's `$$apr1$$…`) stays as written.
fn braced_only(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' && chars.peek() != Some(&'{') {
            out.push('$');
        }
    }
    out
}

fn short(s: &str) -> &str {
    let end = s.char_indices().nth(30).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// The text up to the closing `quote` (not preceded by `\` for `"`),
/// continuing on the following lines; advances `next` past them.
fn quoted(first: &str, quote: char, lines: &[&str], next: &mut usize) -> Option<String> {
    let mut text = String::new();
    let mut part = first;
    loop {
        let mut escaped = false;
        for (i, c) in part.char_indices() {
            if c == quote && !escaped {
                text.push_str(&part[..i]);
                return Some(text);
            }
            escaped = quote == '"' && c == '\\' && !escaped;
        }
        text.push_str(part);
        text.push('\n');
        part = lines.get(*next)?;
        *next += 1;
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('$') => out.push_str("$$"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotenv_as_compose_reads_it() {
        let text = "# comment\nA=1\nexport B = two # note\nC='lit $A #x'\nD=\"x\\ny ${A}\"\nE=\"multi\nline\"\nF=${A}-${NOPE}\nG=\nH\nI=p#q\nJ=admin:$$apr1$$x $A\n";
        let got = parse(text).unwrap();
        let want = [
            ("A", "1"),
            ("B", "two"),
            ("C", "lit $A #x"),
            ("D", "x\ny 1"),
            ("E", "multi\nline"),
            ("F", "1-"),
            ("G", ""),
            ("I", "p#q"),
            ("J", "admin:$$apr1$$x $A"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, want);
        let (pos, msg) = parse("A=1\nthis is not dotenv\n").unwrap_err();
        assert_eq!((pos.line, pos.column), (2, 6), "{msg}");
        assert!(parse("A='open\n").unwrap_err().1.contains("never closed"));
    }
}

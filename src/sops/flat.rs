//! SOPS's flat stores: dotenv (`KEY=value` lines, `#` comments, `\n` for a
//! line break inside a value, metadata as `sops_*` lines) and INI
//! (`[section]` headers, `key = value`, metadata in a `[sops]` section).

use super::{Body, Format, Sealed, SopsError, meta};

/// The `sops_*` entries of a dotenv file (prefix taken off), when it is a
/// SOPS dotenv file.
pub fn dotenv_metadata(text: &str) -> Option<Vec<(String, String)>> {
    let entries: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| l.strip_prefix("sops_"))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    entries.iter().any(|(k, _)| k == "mac").then_some(entries)
}

/// A SOPS dotenv file.
pub fn dotenv(text: &str, metadata: Vec<(String, String)>) -> Result<Sealed, SopsError> {
    let mut items = Vec::new();
    for (no, line) in text.split('\n').enumerate() {
        if line.is_empty() || line.starts_with('#') || line.starts_with("sops_") {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| SopsError::Syntax(format!("line {}: not a KEY=value line", no + 1)))?;
        items.push((vec![key.to_owned()], value.replace("\\n", "\n")));
    }
    Ok(Sealed {
        format: Format::Dotenv,
        body: Body::Flat(items),
        meta: meta::read(&meta::unflatten(&metadata))?,
    })
}

/// A SOPS INI file (one with a `[sops]` section); `None` otherwise.
pub fn ini(text: &str) -> Option<Result<Sealed, SopsError>> {
    if !text.lines().any(|l| l.trim() == "[sops]") {
        return None;
    }
    let mut section: Option<String> = None;
    let mut items = Vec::new();
    let mut metadata = Vec::new();
    for (no, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.trim().to_owned());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Some(Err(SopsError::Syntax(format!(
                "line {}: not a `key = value` line",
                no + 1
            ))));
        };
        let (key, value) = (key.trim().to_owned(), unquote(value.trim()));
        match section.as_deref() {
            Some("sops") => metadata.push((key, value)),
            Some(s) => items.push((vec![s.to_owned(), key], value.replace("\\n", "\n"))),
            None => items.push((vec![key], value.replace("\\n", "\n"))),
        }
    }
    Some(meta::read(&meta::unflatten(&metadata)).map(|meta| Sealed {
        format: Format::Ini,
        body: Body::Flat(items),
        meta,
    }))
}

fn unquote(v: &str) -> String {
    for q in ["\"\"\"", "\"", "`"] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q))
            && v.len() >= 2 * q.len()
        {
            return inner.to_owned();
        }
    }
    v.to_owned()
}

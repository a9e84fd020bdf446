//! Host secrets: `${env:NAME}` and `${file:/path}` references, resolved on
//! the running host and never stored or shown. One expander serves every
//! user (job environments, notification URLs, stack variables); it reads
//! through the closures it is given, so pure code can resolve with plain
//! values. Stack variables holding a reference travel through the compose
//! file as a [`placeholder`] until the stack is rendered on its host.

use std::path::Path;

/// Where a reference is read from: an environment variable, a file.
pub struct Sources<'a> {
    /// `${env:NAME}`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// `${file:/path}` (trailing newlines are dropped).
    pub read: &'a dyn Fn(&Path) -> Result<String, String>,
    /// `${sops:FILE#NAME}`: the decrypted value NAME of the SOPS file at
    /// FILE (NAME empty: the whole file) and a tag of it — a keyed hash
    /// that says it changed without allowing a guess of it.
    pub sops: &'a Unseal<'a>,
}

/// Opens one value of a SOPS file: (file, name) → (value, tag).
pub type Unseal<'a> = dyn Fn(&Path, &str) -> Result<(String, String), String> + 'a;

impl Sources<'_> {
    /// The running host's own environment and files; no SOPS identities.
    pub fn host() -> Sources<'static> {
        Sources {
            env: &|k| std::env::var(k).ok(),
            read: &|p| std::fs::read_to_string(p).map_err(|e| e.to_string()),
            sops: &|_, _| Err("no age identity to open SOPS files with".into()),
        }
    }
}

/// The file and name of a `${sops:FILE#NAME}` reference.
pub fn sops_reference(reference: &str) -> Option<(&str, &str)> {
    reference
        .strip_prefix("${sops:")?
        .strip_suffix('}')?
        .rsplit_once('#')
}

/// True when `text` holds a host-secret reference.
pub fn is_reference(text: &str) -> bool {
    text.contains("${env:") || text.contains("${file:")
}

/// `value` with each `${env:NAME}` / `${file:/path}` replaced (`$${` stays
/// a literal `${`), and the secret values it took in.
pub fn expand(value: &str, from: &Sources) -> Result<(String, Vec<String>), String> {
    let mut out = String::new();
    let mut secrets = Vec::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let (Some(inner), Some(end)) = (rest.strip_prefix("${"), rest.find('}')) {
            let secret = resolve_one(&inner[..end - 2], from)?;
            secrets.push(secret.clone());
            out.push_str(&secret);
            rest = &rest[end + 1..];
        } else {
            out.push('$');
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    Ok((out, secrets))
}

fn resolve_one(reference: &str, from: &Sources) -> Result<String, String> {
    match reference.split_once(':') {
        Some(("env", var)) => {
            (from.env)(var).ok_or_else(|| format!("${{env:{var}}} is not set on this host"))
        }
        Some(("file", path)) => (from.read)(Path::new(path))
            .map(|s| s.trim_end_matches(['\n', '\r']).to_owned())
            .map_err(|e| format!("${{file:{path}}}: {e}")),
        _ => Err(format!("unknown reference ${{{reference}}}")),
    }
}

/// `text` with every (non-empty) secret value in it shown as `***`.
pub fn redact(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "***"))
}

const MARK: char = '\u{1}';

/// What a stack variable holding a host secret interpolates to: a marker
/// naming the variable, replaced by the secret only when the stack is
/// rendered on its host.
pub fn placeholder(var: &str) -> String {
    format!("{MARK}secret:{var}{MARK}")
}

/// The variables whose placeholders `text` holds.
pub fn placeholders(text: &str) -> Vec<&str> {
    text.split(MARK)
        .filter_map(|part| part.strip_prefix("secret:"))
        .collect()
}

/// `text` with each placeholder replaced by `with(variable)`.
pub fn fill(
    text: &str,
    with: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::new();
    for (i, part) in text.split(MARK).enumerate() {
        match part.strip_prefix("secret:") {
            Some(var) if i % 2 == 1 => out.push_str(&with(var)?),
            _ => out.push_str(part),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_placeholders() {
        let from = Sources {
            env: &|k| (k == "PW").then(|| "s3cret".to_owned()),
            read: &|p| Ok(format!("{}\n", p.display())),
            sops: &|_, _| Err("none".into()),
        };
        let (out, found) = expand("a ${env:PW} b ${file:/k} $${env:PW}", &from).unwrap();
        assert_eq!(out, "a s3cret b /k ${env:PW}");
        assert_eq!(found, ["s3cret", "/k"]);
        assert!(
            expand("${env:NOPE}", &from)
                .unwrap_err()
                .contains("not set")
        );
        let text = format!("u:{}@db", placeholder("DB_PASS"));
        assert_eq!(placeholders(&text), ["DB_PASS"]);
        let filled = fill(&text, &mut |v| Ok(v.to_lowercase())).unwrap();
        assert_eq!(filled, "u:db_pass@db");
        assert!(is_reference("${file:/x}") && !is_reference("${X}"));
        assert_eq!(
            sops_reference("${sops:s/a/.env#PW}"),
            Some(("s/a/.env", "PW"))
        );
        assert_eq!(
            sops_reference("${sops:s/a/pw.txt#}"),
            Some(("s/a/pw.txt", ""))
        );
    }
}

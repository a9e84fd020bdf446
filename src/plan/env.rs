//! A service's environment as its container gets it: its `env_file`s in
//! order, then `environment` (later wins); an entry listed without a value
//! and set nowhere stays bare (`KEY`, unset in the container, as compose
//! sends it); host-secret placeholders filled on the host, each secret
//! with a config-hash part of its own.

use super::hash::short;
use crate::model::Service;
use std::collections::BTreeMap;
use std::path::Path;

/// How files of the commit are read.
type ReadFn<'a> = dyn Fn(&Path) -> Result<String, String> + 'a;

/// Variables by name; `None` is a bare `KEY`.
pub type Vars = BTreeMap<String, Option<String>>;

/// `spec`'s variables before secrets are filled; the first unreadable or
/// broken env file goes into `error`. A SOPS-encrypted env file gives its
/// encrypted values as placeholders, their references added to `refs`.
pub fn gather(
    name: &str,
    spec: &Service,
    (root, read): (&Path, &ReadFn<'_>),
    refs: &mut BTreeMap<String, String>,
    error: &mut Option<String>,
) -> Vars {
    let mut vars = Vars::new();
    for f in &spec.env_file {
        let file = &f.path;
        let shown = file.to_string_lossy();
        let text = read(&root.join(file));
        let sealed = text
            .as_ref()
            .ok()
            .and_then(|t| crate::sops::detect(&shown, t));
        let text = match (text, sealed) {
            (Err(_), _) if !f.required && !root.join(file).exists() => continue,
            (_, Some(Ok(sealed))) => {
                vars.extend(sealed_vars(&shown, &sealed, refs));
                continue;
            }
            (_, Some(Err(e))) => {
                error.get_or_insert(format!("service {name}: env_file {shown}: {e}"));
                continue;
            }
            (Ok(text), None) if f.raw => {
                vars.extend(raw_pairs(&text));
                continue;
            }
            (other, None) => other,
        };
        match text {
            Ok(text) => match crate::config::dotenv::parse(&text) {
                Ok(pairs) => vars.extend(pairs.into_iter().map(|(k, v)| (k, Some(v)))),
                Err((pos, e)) => {
                    error.get_or_insert(format!(
                        "service {name}: env_file {}:{}:{}: {e}",
                        file.display(),
                        pos.line,
                        pos.column
                    ));
                }
            },
            Err(e) => {
                error.get_or_insert(format!("service {name}: env_file {}: {e}", file.display()));
            }
        }
    }
    for (key, value) in &spec.environment {
        vars.insert(key.clone(), value.clone());
    }
    vars
}

/// The variables of a SOPS env file: plain values as they are, encrypted
/// ones as placeholders whose references go into `refs`.
fn sealed_vars(
    file: &str,
    sealed: &crate::sops::Sealed,
    refs: &mut BTreeMap<String, String>,
) -> Vars {
    let mut vars = Vars::new();
    for (key, plain) in sealed.visible() {
        let value = plain.unwrap_or_else(|| {
            let id = format!("{file}#{key}");
            refs.insert(id.clone(), format!("${{sops:{id}}}"));
            crate::model::secret::placeholder(&id)
        });
        vars.insert(key, Some(value));
    }
    vars
}

/// An env file of `format: raw`: every `KEY=VALUE` line as written
/// (blank lines and `#` comments skipped).
fn raw_pairs(text: &str) -> Vec<(String, Option<String>)> {
    text.lines()
        .map(str::trim_start)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), Some(v.to_owned())))
        .collect()
}

/// `KEY=VALUE` (or a bare `KEY`) lines, sorted by key.
pub fn listed(vars: &Vars) -> Vec<String> {
    vars.iter()
        .map(|(k, v)| v.as_ref().map_or_else(|| k.clone(), |v| format!("{k}={v}")))
        .collect()
}

/// Replaces the host-secret placeholders in `values` (environment values,
/// copied-in texts, each with what it is for messages) with the secrets
/// read through `from`; each secret variable used gets a part of its own
/// (`secret NAME`), so a changed secret recreates exactly the services
/// that use it, named and never shown. Returns the secret values.
pub fn fill_secrets<'a>(
    values: impl Iterator<Item = (String, &'a mut String)>,
    (refs, root): (&BTreeMap<String, String>, &Path),
    from: &crate::model::secret::Sources,
    parts: &mut BTreeMap<String, String>,
) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    for (what, value) in values {
        let mut with = |var: &str| -> Result<String, String> {
            let reference = refs.get(var).ok_or_else(|| format!("no secret {var}"))?;
            if let Some((file, name)) = crate::model::secret::sops_reference(reference) {
                // One part per encrypted file: a change names the file only.
                let (value, tag) = (from.sops)(&root.join(file), name)
                    .map_err(|e| format!("{what}: {file}: {e}"))?;
                let part = parts.entry(format!("secret in {file}")).or_default();
                *part = short(&format!("{part}\n{name}\n{tag}"));
                found.push(value.clone());
                return Ok(value);
            }
            let (out, values) = crate::model::secret::expand(reference, from)
                .map_err(|e| format!("{what}: variable {var}: {e}"))?;
            parts.insert(format!("secret {var}"), short(&format!("{var}\n{out}")));
            found.extend(values);
            Ok(out)
        };
        if !crate::model::secret::placeholders(value).is_empty() {
            *value = crate::model::secret::fill(value, &mut with)?;
        }
    }
    Ok(found)
}

//! SOPS files, read natively: a YAML or JSON file with a top-level `sops`
//! map, a dotenv file with `sops_*` lines or an INI file with a `[sops]`
//! section is recognised ([`detect`]), its data key unwrapped with the age
//! identities tend holds ([`Keyring`]), each `ENC[AES256_GCM,…]` value
//! decrypted with its path as associated data, and the MAC over the values
//! checked ([`Sealed::open`]) — a file changed after it was encrypted, or
//! opened with the wrong key, is an error, never partly read.
//!
//! Pure but for [`Keyring::host`]. The plaintext lives only in the
//! returned [`Opened`]; nothing here logs or keeps it.

mod cipher;
mod flat;
mod keys;
mod meta;
mod open;

pub use keys::Keyring;
pub use open::Opened;

use crate::config::node::{Node, Value};

/// Why a SOPS file could not be read or opened. Messages never hold a
/// plaintext value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SopsError {
    /// The file is not well-formed.
    #[error("not a readable SOPS file: {0}")]
    Syntax(String),
    /// The `sops` metadata is incomplete or unsupported.
    #[error("SOPS metadata: {0}")]
    Metadata(String),
    /// The identities could not be read.
    #[error("age identity: {0}")]
    Key(String),
    /// None of the file's age recipients is one tend holds.
    #[error("{}", no_key(.recipients, .held))]
    NoKey {
        /// The file's age recipients.
        recipients: Vec<String>,
        /// The recipients of the identities tend holds.
        held: Vec<String>,
    },
    /// One value does not decrypt.
    #[error("value `{path}`: {why}")]
    Value {
        /// Where (`a.b`).
        path: String,
        /// What failed.
        why: String,
    },
    /// The values do not match the MAC.
    #[error("MAC mismatch: the file was changed after it was encrypted (or truncated)")]
    Mac,
}

fn no_key(recipients: &[String], held: &[String]) -> String {
    let theirs = if recipients.is_empty() {
        "it has no age recipient (only other key kinds)".to_owned()
    } else {
        format!("encrypted for {}", recipients.join(", "))
    };
    if held.is_empty() {
        format!("{theirs}; no age identity is configured ([secrets] age_key or SOPS_AGE_KEY_FILE)")
    } else {
        format!("{theirs}; tend holds {}", held.join(", "))
    }
}

/// How the file stores its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (`.yaml`, `.yml`).
    Yaml,
    /// JSON (`.json`).
    Json,
    /// Any other name: SOPS's binary store, a JSON/YAML file whose `data`
    /// holds the whole content.
    Binary,
    /// `KEY=value` lines (`.env`, or `sops_*` lines).
    Dotenv,
    /// INI sections (`.ini`).
    Ini,
}

/// A SOPS file, parsed but not opened.
#[derive(Debug)]
pub struct Sealed {
    format: Format,
    body: Body,
    meta: meta::Meta,
}

#[derive(Debug)]
enum Body {
    /// YAML/JSON: the document without its `sops` key.
    Tree(Node),
    /// Dotenv/INI: each value's path and text, in file order.
    Flat(Vec<(Vec<String>, String)>),
}

/// The SOPS file `text` (named `name`, whose extension picks the store as
/// SOPS picks it) holds; `None` when it carries no SOPS metadata.
pub fn detect(name: &str, text: &str) -> Option<Result<Sealed, SopsError>> {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    if let Some(entries) = flat::dotenv_metadata(text) {
        return Some(flat::dotenv(text, entries));
    }
    if let Some(result) = flat::ini(text) {
        return Some(result);
    }
    // Encrypted values without their metadata: cut short, or the metadata
    // removed — never read as plain text.
    let orphan = || {
        text.contains("ENC[AES256_GCM,data:").then(|| {
            Err(SopsError::Syntax(
                "it holds SOPS-encrypted values but no complete SOPS metadata (truncated?)".into(),
            ))
        })
    };
    let Ok(root) = crate::config::node::parse_yaml(text) else {
        return orphan();
    };
    let Value::Map(entries) = &root.value else {
        return orphan();
    };
    let Some(at) = entries.iter().position(|(k, v)| {
        k.as_str() == Some("sops")
            && matches!(&v.value, Value::Map(m) if m.iter().any(|(k, _)| k.as_str() == Some("mac")))
    }) else {
        return orphan();
    };
    let format = match ext {
        "yaml" | "yml" => Format::Yaml,
        "json" => Format::Json,
        _ => Format::Binary,
    };
    let meta = match meta::read(&entries[at].1) {
        Ok(m) => m,
        Err(e) => return Some(Err(e)),
    };
    let mut body = root.clone();
    if let Value::Map(e) = &mut body.value {
        e.remove(at);
    }
    Some(Ok(Sealed {
        format,
        body: Body::Tree(body),
        meta,
    }))
}

impl Sealed {
    /// The file's age recipients.
    pub fn recipients(&self) -> Vec<String> {
        self.meta.age.iter().map(|a| a.recipient.clone()).collect()
    }

    /// How the file stores its values.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The top-level scalar values, readable without a key: each name with
    /// its value when the file's rule leaves it plain, `None` when it is
    /// encrypted.
    pub fn visible(&self) -> Vec<(String, Option<String>)> {
        let plain = |path: &[String], v: &str| {
            (!self.meta.rule.encrypts(path) || !cipher::is_encrypted(v)).then(|| v.to_owned())
        };
        match &self.body {
            Body::Flat(items) => items
                .iter()
                .map(|(p, v)| (p.join("."), plain(p, v)))
                .collect(),
            Body::Tree(node) => match &node.value {
                Value::Map(e) => e
                    .iter()
                    .filter_map(|(k, v)| {
                        let name = k.as_str()?.to_owned();
                        let text = v.as_str()?;
                        let shown = plain(std::slice::from_ref(&name), text);
                        Some((name, shown))
                    })
                    .collect(),
                _ => Vec::new(),
            },
        }
    }

    /// Decrypts every value with the data key `ring` unwraps and checks the
    /// MAC.
    pub fn open(&self, ring: &Keyring) -> Result<Opened, SopsError> {
        if self.meta.age.is_empty() && !self.meta.others.is_empty() {
            return Err(SopsError::Metadata(format!(
                "encrypted only for {} keys; tend reads age keys",
                self.meta.others.join(", ")
            )));
        }
        let key = ring.unwrap(&self.meta.age)?;
        open::open(self, &key)
    }
}

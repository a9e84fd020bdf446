//! Opening a SOPS file: every value decrypted (or taken as written where
//! the file's rule leaves it plain), the SHA-512 MAC over the values in
//! file order recomputed and compared with the stored one, and the
//! plaintext handed back as variables and as the file's decrypted text.

use super::cipher::{self, Scalar};
use super::{Body, Format, Sealed, SopsError};
use crate::config::node::{Node, Value};
use sha2::{Digest, Sha512};

/// What SOPS writes first into the MAC of a `mac_only_encrypted` file.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// One top-level value of an opened file.
#[derive(Clone, PartialEq)]
pub struct Entry {
    /// Its name (INI: `section.key`).
    pub name: String,
    /// Its plaintext.
    pub value: String,
    /// Whether it was encrypted in the file.
    pub encrypted: bool,
}

/// An opened file: its top-level scalar values and its whole plaintext.
/// Never shown: `Debug` prints names only.
#[derive(Clone, PartialEq)]
pub struct Opened {
    /// The top-level scalar values, in file order.
    pub entries: Vec<Entry>,
    /// The file as `sops --decrypt` would print it (a binary-store file:
    /// its content; YAML and JSON as JSON, which YAML reads too).
    pub text: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        write!(f, "Opened({names:?})")
    }
}

struct Walk<'a> {
    sealed: &'a Sealed,
    key: &'a [u8; 32],
    mac: Sha512,
}

impl Walk<'_> {
    fn leaf(&mut self, path: &[String], value: &str) -> Result<(Scalar, bool), SopsError> {
        let encrypted = self.sealed.meta.rule.encrypts(path);
        let plain = if encrypted {
            let joined: String = path.iter().map(|k| format!("{k}:")).collect();
            cipher::decrypt(value, self.key, &joined)?
        } else {
            Scalar::Str(value.to_owned())
        };
        self.count(&plain, encrypted);
        Ok((plain, encrypted && !value.is_empty()))
    }

    fn count(&mut self, plain: &Scalar, encrypted: bool) {
        if !self.sealed.meta.mac_only_encrypted || encrypted {
            self.mac.update(plain.mac_bytes());
        }
    }

    /// The decrypted copy of `node`; `entries` gets the top-level scalars.
    fn tree(&mut self, node: &Node, path: &mut Vec<String>) -> Result<Node, SopsError> {
        let value = match &node.value {
            Value::Map(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, v) in items {
                    path.push(key_text(k));
                    let v = self.tree(v, path);
                    path.pop();
                    out.push((k.clone(), v?));
                }
                Value::Map(out)
            }
            Value::Seq(items) => Value::Seq(
                items
                    .iter()
                    .map(|i| self.tree(i, path))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Null => Value::Null,
            Value::Str(s) => scalar_value(self.leaf(path, s)?.0),
            other => {
                let plain = match other {
                    Value::Int(i) => Scalar::Int(*i),
                    Value::Float(f) => Scalar::Float(*f),
                    Value::Bool(b) => Scalar::Bool(*b),
                    _ => Scalar::Str(String::new()),
                };
                if self.sealed.meta.rule.encrypts(path) {
                    return Err(SopsError::Value {
                        path: cipher::shown(&path.join(":")),
                        why: "should be encrypted but is written in plain".into(),
                    });
                }
                self.count(&plain, false);
                other.clone()
            }
        };
        Ok(Node {
            pos: node.pos,
            value,
        })
    }
}

/// Opens `sealed` with its data key.
pub fn open(sealed: &Sealed, key: &[u8; 32]) -> Result<Opened, SopsError> {
    let mut walk = Walk {
        sealed,
        key,
        mac: Sha512::new(),
    };
    if sealed.meta.mac_only_encrypted {
        walk.mac.update(MAC_ONLY_ENCRYPTED_INIT);
    }
    let mut entries = Vec::new();
    let text = match &sealed.body {
        Body::Flat(items) => {
            let mut lines = Vec::new();
            let mut section = None;
            for (path, value) in items {
                let (plain, encrypted) = walk.leaf(path, value)?;
                let value = plain.text();
                lines.push(flat_line(sealed.format, path, &value, &mut section));
                entries.push(Entry {
                    name: path.join("."),
                    value,
                    encrypted,
                });
            }
            lines.concat()
        }
        Body::Tree(node) => {
            let plain = walk.tree(node, &mut Vec::new())?;
            if let (Value::Map(items), Value::Map(sealed_items)) = (&plain.value, &node.value) {
                for ((k, v), (_, was)) in items.iter().zip(sealed_items) {
                    if let Some(value) = scalar_text(&v.value) {
                        let encrypted =
                            matches!(&was.value, Value::Str(s) if cipher::is_encrypted(s));
                        entries.push(Entry {
                            name: key_text(k),
                            value,
                            encrypted,
                        });
                    }
                }
            }
            tree_text(sealed.format, &plain, &entries)
        }
    };
    check_mac(sealed, key, walk.mac)?;
    Ok(Opened { entries, text })
}

fn check_mac(sealed: &Sealed, key: &[u8; 32], mac: Sha512) -> Result<(), SopsError> {
    let computed = hex::encode_upper(mac.finalize());
    let when = chrono::DateTime::parse_from_rfc3339(&sealed.meta.lastmodified)
        .map_err(|e| SopsError::Metadata(format!("`lastmodified`: {e}")))?;
    let aad = when.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stored = cipher::decrypt(&sealed.meta.mac, key, &aad).map_err(|_| SopsError::Mac)?;
    if stored.text().eq_ignore_ascii_case(&computed) {
        Ok(())
    } else {
        Err(SopsError::Mac)
    }
}

fn flat_line(format: Format, path: &[String], value: &str, section: &mut Option<String>) -> String {
    let escaped = value.replace('\n', "\\n");
    match (format, path) {
        (Format::Ini, [s, k]) => {
            let head = if section.as_deref() == Some(s) {
                String::new()
            } else {
                *section = Some(s.clone());
                format!("[{s}]\n")
            };
            format!("{head}{k} = {escaped}\n")
        }
        (_, p) => format!("{}={escaped}\n", p.join(".")),
    }
}

fn tree_text(format: Format, plain: &Node, entries: &[Entry]) -> String {
    if format == Format::Binary
        && let [only] = entries
        && only.name == "data"
    {
        return only.value.clone();
    }
    let mut out = String::new();
    json(plain, 0, &mut out);
    out.push('\n');
    out
}

/// `node` as indented JSON, keys in file order.
fn json(node: &Node, depth: usize, out: &mut String) {
    let pad = |d: usize| "  ".repeat(d);
    match &node.value {
        Value::Map(items) if !items.is_empty() => {
            out.push_str("{\n");
            for (i, (k, v)) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&serde_json::Value::String(key_text(k)).to_string());
                out.push_str(": ");
                json(v, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
        Value::Seq(items) if !items.is_empty() => {
            out.push_str("[\n");
            for (i, v) in items.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                json(v, depth + 1, out);
                out.push_str(if i + 1 < items.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push(']');
        }
        Value::Map(_) => out.push_str("{}"),
        Value::Seq(_) => out.push_str("[]"),
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(&b.to_string()),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&f.to_string()),
        Value::Str(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
    }
}

fn scalar_value(s: Scalar) -> Value {
    match s {
        Scalar::Str(s) => Value::Str(s),
        Scalar::Int(i) => Value::Int(i),
        Scalar::Float(f) => Value::Float(f),
        Scalar::Bool(b) => Value::Bool(b),
    }
}

/// A scalar value as text (`None` for null, lists and maps).
pub(super) fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Str(s) => Some(s.clone()),
        Value::Int(i) => Some(i.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn key_text(k: &Node) -> String {
    scalar_text(&k.value).unwrap_or_default()
}

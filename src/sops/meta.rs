//! The `sops` metadata of a file: who can open it (age recipients, each
//! with the data key wrapped for it; other key kinds are named so a
//! message can say why tend cannot use them), which values are encrypted
//! (`unencrypted_suffix`, `encrypted_suffix`, `unencrypted_regex`,
//! `encrypted_regex`, at most one of them, `_unencrypted` by default), the
//! MAC and the time it is bound to. Dotenv and INI files carry the same
//! map flattened (`age__list_0__map_recipient`); [`unflatten`] rebuilds it.

use super::SopsError;
use crate::config::node::{Node, Pos, Value};

/// One age recipient and the data key wrapped for it (armored age file).
#[derive(Debug, Clone)]
pub struct AgeStanza {
    /// `age1…` or an ssh public key.
    pub recipient: String,
    /// The wrapped data key.
    pub enc: String,
}

/// Which values are encrypted.
#[derive(Debug, Clone)]
pub enum Rule {
    /// Keys ending in this stay plain.
    UnencryptedSuffix(String),
    /// Only keys ending in this are encrypted.
    EncryptedSuffix(String),
    /// Keys matching this stay plain.
    UnencryptedRegex(regex::Regex),
    /// Only keys matching this are encrypted.
    EncryptedRegex(regex::Regex),
}

impl Rule {
    /// Whether the value at `path` (its keys, outermost first) is encrypted.
    pub fn encrypts(&self, path: &[String]) -> bool {
        match self {
            Rule::UnencryptedSuffix(s) => !path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|k| k.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path.iter().any(|k| r.is_match(k)),
            Rule::EncryptedRegex(r) => path.iter().any(|k| r.is_match(k)),
        }
    }
}

/// The metadata tend uses.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Age recipients of the (single) key group.
    pub age: Vec<AgeStanza>,
    /// Other key kinds present (`pgp`, `kms`, …), for messages.
    pub others: Vec<String>,
    /// `lastmodified` as written (the MAC's associated data, reformatted).
    pub lastmodified: String,
    /// The encrypted MAC.
    pub mac: String,
    /// Which values are encrypted.
    pub rule: Rule,
    /// `mac_only_encrypted`.
    pub mac_only_encrypted: bool,
}

const KEY_KINDS: &[&str] = &[
    "age", "pgp", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms",
];

/// Reads the `sops` map.
pub fn read(node: &Node) -> Result<Meta, SopsError> {
    let bad = SopsError::Metadata;
    let top = |k: &str| node.get(k);
    let text = |k: &str| top(k).and_then(scalar_text);
    let mut age = Vec::new();
    let mut others = Vec::new();
    let groups = top("key_groups").map(seq).unwrap_or_default();
    if groups.len() > 1 {
        return Err(bad(format!(
            "{} key groups (Shamir secret sharing) are not supported",
            groups.len()
        )));
    }
    for group in groups.iter().copied().chain([node]) {
        for kind in KEY_KINDS {
            for entry in group.get(kind).map(seq).unwrap_or_default() {
                if *kind == "age" {
                    let field = |f: &str| entry.get(f).and_then(scalar_text);
                    match (field("recipient"), field("enc")) {
                        (Some(recipient), Some(enc)) => age.push(AgeStanza { recipient, enc }),
                        _ => return Err(bad("an age entry lacks `recipient` or `enc`".into())),
                    }
                } else if !others.iter().any(|o| o == kind) {
                    others.push((*kind).to_owned());
                }
            }
        }
    }
    let lastmodified =
        text("lastmodified").ok_or_else(|| bad("`lastmodified` is missing".into()))?;
    let mac = text("mac").ok_or_else(|| bad("`mac` is missing".into()))?;
    let regex = |k: &str| -> Result<Option<regex::Regex>, SopsError> {
        text(k)
            .filter(|s| !s.is_empty())
            .map(|r| regex::Regex::new(&r).map_err(|e| bad(format!("`{k}`: {e}"))))
            .transpose()
    };
    let mut rules = Vec::new();
    let suffix = |k: &str| text(k).filter(|s| !s.is_empty());
    if let Some(s) = suffix("unencrypted_suffix") {
        rules.push(Rule::UnencryptedSuffix(s));
    }
    if let Some(s) = suffix("encrypted_suffix") {
        rules.push(Rule::EncryptedSuffix(s));
    }
    if let Some(r) = regex("unencrypted_regex")? {
        rules.push(Rule::UnencryptedRegex(r));
    }
    if let Some(r) = regex("encrypted_regex")? {
        rules.push(Rule::EncryptedRegex(r));
    }
    for k in ["unencrypted_comment_regex", "encrypted_comment_regex"] {
        if suffix(k).is_some() {
            return Err(bad(format!("`{k}` is not supported")));
        }
    }
    if rules.len() > 1 {
        return Err(bad(
            "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex".into(),
        ));
    }
    let rule = rules
        .pop()
        .unwrap_or_else(|| Rule::UnencryptedSuffix("_unencrypted".into()));
    let mac_only_encrypted = match top("mac_only_encrypted").map(|n| &n.value) {
        Some(Value::Bool(b)) => *b,
        Some(Value::Str(s)) => s == "true",
        _ => false,
    };
    Ok(Meta {
        age,
        others,
        lastmodified,
        mac,
        rule,
        mac_only_encrypted,
    })
}

fn seq(node: &Node) -> Vec<&Node> {
    match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn scalar_text(node: &Node) -> Option<String> {
    super::open::scalar_text(&node.value)
}

/// The metadata map of flattened `(key, value)` entries (the `sops_` or
/// `[sops]` prefix already taken off): `a__list_0__map_b` is `a[0].b`;
/// `\n` in values are line breaks.
pub fn unflatten(entries: &[(String, String)]) -> Node {
    let mut root = node(Value::Map(Vec::new()));
    for (key, value) in entries {
        let mut at = &mut root;
        let mut segments = key.split("__").peekable();
        while let Some(seg) = segments.next() {
            let last = segments.peek().is_none();
            let child = if last {
                node(Value::Str(value.replace("\\n", "\n")))
            } else if segments.peek().is_some_and(|s| s.starts_with("list_")) {
                node(Value::Seq(Vec::new()))
            } else {
                node(Value::Map(Vec::new()))
            };
            at = descend(at, seg, child);
        }
    }
    root
}

/// The child of `at` that `seg` names (`list_N`, `map_K` or a plain top
/// key), made from `fresh` when missing.
fn descend<'a>(at: &'a mut Node, seg: &str, fresh: Node) -> &'a mut Node {
    if let Some(n) = seg.strip_prefix("list_")
        && matches!(at.value, Value::Seq(_))
    {
        let Value::Seq(items) = &mut at.value else {
            unreachable!("checked above")
        };
        let i: usize = n.parse().unwrap_or(usize::MAX).min(items.len());
        if i == items.len() {
            items.push(fresh);
        }
        return &mut items[i];
    }
    let name = seg.strip_prefix("map_").unwrap_or(seg);
    if !matches!(at.value, Value::Map(_)) {
        at.value = Value::Map(Vec::new());
    }
    let Value::Map(entries) = &mut at.value else {
        unreachable!("made a map above")
    };
    let i = match entries.iter().position(|(k, _)| k.as_str() == Some(name)) {
        Some(i) => i,
        None => {
            entries.push((node(Value::Str(name.to_owned())), fresh));
            entries.len() - 1
        }
    };
    &mut entries[i].1
}

fn node(value: Value) -> Node {
    Node {
        pos: Pos::START,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattened_metadata_reads_like_the_map() {
        let flat = [
            ("age__list_0__map_enc", "-----BEGIN AGE-----\\nabc\\n"),
            ("age__list_0__map_recipient", "age1one"),
            ("age__list_1__map_enc", "x"),
            ("age__list_1__map_recipient", "age1two"),
            ("lastmodified", "2024-09-16T19:00:22Z"),
            ("mac", "ENC[…]"),
            ("encrypted_regex", "^(pw|token)$"),
            ("version", "3.9.0"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let meta = read(&unflatten(&flat)).unwrap();
        let recipients: Vec<_> = meta.age.iter().map(|a| a.recipient.as_str()).collect();
        assert_eq!(recipients, ["age1one", "age1two"]);
        assert_eq!(meta.age[0].enc, "-----BEGIN AGE-----\nabc\n");
        assert!(meta.rule.encrypts(&["pw".into()]));
        assert!(!meta.rule.encrypts(&["user".into()]));
        let default = read(&unflatten(&flat[4..6])).unwrap();
        assert!(!default.rule.encrypts(&["a".into(), "b_unencrypted".into()]));
        assert!(default.rule.encrypts(&["a".into()]));
    }
}

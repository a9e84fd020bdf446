//! A serde `Deserializer` over a [`Node`] tree that reports **every** error of
//! a file, each at its `line:col`, instead of stopping at the first.
//!
//! serde stops at the first error. [`from_node`] therefore runs the typed
//! deserialization again after each error, with the offending entry (the
//! unknown key, the value of the wrong type, the list item missing a required
//! key) left out, until it succeeds or gives up. Errors that only follow from
//! an entry already left out (a required key removed because its value was
//! wrong) are not reported twice. The result is a partial value, good for
//! semantic checks of everything that did parse, plus the list of errors.

use super::node::{Node, Pos, Value};
use serde::de::value::StrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use std::collections::HashSet;
use std::fmt;

use super::at::{AT_FIELDS, AT_MARKER, AtAccess};

/// Most recovery attempts per file before giving up with what was found.
const MAX_ATTEMPTS: usize = 256;

/// Nodes left out of deserialization, by address (the tree is borrowed and
/// does not move while this lives).
#[derive(Default)]
pub(super) struct Excluded(HashSet<usize>);

fn id(node: &Node) -> usize {
    node as *const Node as usize
}

impl Excluded {
    fn has(&self, node: &Node) -> bool {
        !self.0.is_empty() && self.0.contains(&id(node))
    }

    /// True when nothing inside `node` was left out.
    pub(super) fn is_clean(&self, node: &Node) -> bool {
        if self.0.is_empty() {
            return true;
        }
        if self.has(node) {
            return false;
        }
        match &node.value {
            Value::Seq(items) => items.iter().all(|n| self.is_clean(n)),
            Value::Map(entries) => entries
                .iter()
                .all(|(k, v)| self.is_clean(k) && self.is_clean(v)),
            _ => true,
        }
    }
}

/// One deserialization error, attached to the innermost node it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct DeError {
    node: Option<usize>,
    pos: Option<Pos>,
    message: String,
    missing: Option<&'static str>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError {
            node: None,
            pos: None,
            message: msg.to_string(),
            missing: None,
        }
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        let found = match unexp {
            de::Unexpected::Seq => "a list".to_owned(),
            de::Unexpected::Map => "a mapping".to_owned(),
            de::Unexpected::Unit => "nothing (null)".to_owned(),
            other => other.to_string(),
        };
        let expected = exp.to_string().replace("a sequence", "a list");
        Self::custom(format_args!("expected {expected}, found {found}"))
    }

    fn missing_field(field: &'static str) -> Self {
        let mut e = Self::custom(format_args!("missing required key `{field}`"));
        e.missing = Some(field);
        e
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(unknown_message("key", field, expected))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(unknown_message("value", variant, expected))
    }
}

/// "unknown key `imagee` (did you mean `image`?)", or the list of valid names.
pub fn unknown_message(what: &str, got: &str, expected: &[&str]) -> String {
    match closest(got, expected) {
        Some(best) => format!("unknown {what} `{got}` (did you mean `{best}`?)"),
        None if expected.is_empty() => format!("unknown {what} `{got}`"),
        // A long list (compose's service keys) helps nobody: name the
        // reference instead.
        None if expected.len() > 20 => format!(
            "unknown {what} `{got}`: not a key tend knows here (see the README's list of supported keys)"
        ),
        None => format!(
            "unknown {what} `{got}`, expected one of {}",
            expected
                .iter()
                .map(|e| format!("`{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The candidate closest to `got` by edit distance, if it is close enough.
pub fn closest<'a>(got: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let limit = (got.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (strsim::osa_distance(&got.to_lowercase(), c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Deserializes `root` into `T`, collecting every error as `(pos, message)`.
///
/// Returns the value built from everything that was valid, or `None` when
/// the root itself could not be read.
pub fn from_node<T: DeserializeOwned>(root: &Node) -> (Option<T>, Vec<(Pos, String)>) {
    let mut excluded = Excluded::default();
    let mut errors = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let err = match T::deserialize(NodeDe::new(root, &excluded)) {
            Ok(value) => return (Some(value), errors),
            Err(e) => e,
        };
        let at = err.node.unwrap_or(id(root));
        let node = find(root, at).unwrap_or(root);
        if !is_consequence(&err, node, &excluded) {
            errors.push((err.pos.unwrap_or(root.pos), err.message));
        }
        if at == id(root) || excluded.has(node) {
            return (None, errors);
        }
        excluded.0.insert(at);
    }
    errors.push((
        root.pos,
        "too many errors in this file; stopped here".into(),
    ));
    (None, errors)
}

/// A missing key whose entry was left out because of an earlier error, or
/// that was misspelt as a key already reported as unknown.
fn is_consequence(err: &DeError, node: &Node, excluded: &Excluded) -> bool {
    let (Some(field), Value::Map(entries)) = (err.missing, &node.value) else {
        return false;
    };
    entries.iter().any(|(k, v)| {
        let left_out = excluded.has(k) || excluded.has(v);
        let key = k.as_str().unwrap_or_default();
        left_out && (key == field || closest(key, &[field]).is_some())
    })
}

fn find(node: &Node, target: usize) -> Option<&Node> {
    if id(node) == target {
        return Some(node);
    }
    match &node.value {
        Value::Seq(items) => items.iter().find_map(|n| find(n, target)),
        Value::Map(entries) => entries
            .iter()
            .find_map(|(k, v)| find(k, target).or_else(|| find(v, target))),
        _ => None,
    }
}

/// Deserializer for one node.
pub(super) struct NodeDe<'a> {
    pub(super) node: &'a Node,
    pub(super) excluded: &'a Excluded,
}

impl<'a> NodeDe<'a> {
    fn new(node: &'a Node, excluded: &'a Excluded) -> Self {
        NodeDe { node, excluded }
    }

    fn attach<T>(&self, r: Result<T, DeError>) -> Result<T, DeError> {
        r.map_err(|mut e| {
            if e.node.is_none() {
                e.node = Some(id(self.node));
                e.pos = Some(self.node.pos);
            }
            e
        })
    }
}

impl<'de> de::Deserializer<'de> for NodeDe<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let ex = self.excluded;
        let r = match &self.node.value {
            Value::Null => v.visit_unit(),
            Value::Bool(b) => v.visit_bool(*b),
            Value::Int(i) => v.visit_i64(*i),
            Value::Float(f) => v.visit_f64(*f),
            Value::Str(s) => v.visit_str(s),
            Value::Seq(items) => v.visit_seq(SeqDe {
                items: items.iter(),
                ex,
            }),
            Value::Map(entries) => v.visit_map(MapDe {
                entries: entries.iter(),
                ex,
                value: None,
            }),
        };
        self.attach(r)
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        match self.node.value {
            Value::Null => v.visit_none(),
            _ => v.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, DeError> {
        let word = self.node.as_str().map(str::to_ascii_lowercase);
        match word.as_deref() {
            Some("yes" | "on" | "true") => v.visit_bool(true),
            Some("no" | "off" | "false") => v.visit_bool(false),
            _ => self.deserialize_any(v),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        let r = match self.node.as_str() {
            Some(s) => v.visit_enum::<StrDeserializer<'_, DeError>>(s.into_deserializer()),
            None => Err(de::Error::invalid_type(
                unexpected(self.node),
                &one_of(variants).as_str(),
            )),
        };
        self.attach(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, DeError> {
        if name == AT_MARKER && fields == AT_FIELDS {
            let clean = self.excluded.is_clean(self.node);
            return v.visit_map(AtAccess::new(self.node, self.excluded, clean));
        }
        if !matches!(self.node.value, Value::Map(_)) {
            let keys = format!("a mapping with keys such as {}", one_of(fields));
            let e = de::Error::invalid_type(unexpected(self.node), &keys.as_str());
            return self.attach(Err(e));
        }
        self.deserialize_any(v)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        v: V,
    ) -> Result<V::Value, DeError> {
        v.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map identifier ignored_any
    }
}

/// "`a`, `b` or `c`".
fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// How a node is named in "expected …, found …" messages.
fn unexpected(node: &Node) -> de::Unexpected<'_> {
    match &node.value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Int(i) => de::Unexpected::Signed(*i),
        Value::Float(f) => de::Unexpected::Float(*f),
        Value::Str(s) => de::Unexpected::Str(s),
        Value::Seq(_) => de::Unexpected::Seq,
        Value::Map(_) => de::Unexpected::Map,
    }
}

struct SeqDe<'a> {
    items: std::slice::Iter<'a, Node>,
    ex: &'a Excluded,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DeError> {
        let ex = self.ex;
        match self.items.by_ref().find(|n| !ex.has(n)) {
            Some(node) => seed.deserialize(NodeDe::new(node, ex)).map(Some),
            None => Ok(None),
        }
    }
}

struct MapDe<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    ex: &'a Excluded,
    value: Option<&'a Node>,
}

impl<'de> de::MapAccess<'de> for MapDe<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let ex = self.ex;
        match self
            .entries
            .by_ref()
            .find(|(k, v)| !ex.has(k) && !ex.has(v))
        {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDe::new(key, ex)).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.value.take() {
            Some(node) => seed.deserialize(NodeDe::new(node, self.ex)),
            None => Err(de::Error::custom("value requested before key")),
        }
    }
}

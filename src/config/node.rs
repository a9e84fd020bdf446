//! A parsed config file as a tree of plain values, each carrying the
//! line and column where it was written.
//!
//! YAML (through serde-saphyr, which expands merge keys and stops alias
//! bombs) and TOML (through toml's spanned document parser) both land in the
//! same [`Node`] tree, so the rest of `config` reads one shape and can point
//! at `file:line:col` for every value it rejects. Hostile input is refused
//! here with a positioned message: oversized files, non-UTF-8 bytes and
//! nesting deeper than [`MAX_DEPTH`].

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// Largest config file tend reads, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most values (after alias expansion) in one YAML file: stops alias bombs.
pub const MAX_NODES: usize = 100_000;
/// Deepest nesting of sequences and mappings accepted in a config file.
pub const MAX_DEPTH: usize = 64;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Pos {
    /// Line, starting at 1.
    pub line: u32,
    /// Column in characters, starting at 1.
    pub column: u32,
    /// Which file: 0 is the file the value is reported against; a value
    /// merged in from another file (`include`, `extends`) carries that
    /// file's number in the validation's list of origins.
    pub file: u16,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos::new(1, 1);

    /// A line and column of the file being reported against.
    pub const fn new(line: u32, column: u32) -> Pos {
        Pos {
            line,
            column,
            file: 0,
        }
    }

    /// The position of byte `offset` in `text`.
    pub fn of_offset(text: &str, offset: usize) -> Pos {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Pos::new(line as u32, column as u32)
    }
}

/// One value of a config file and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the value starts.
    pub pos: Pos,
    /// The value itself.
    pub value: Value,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty YAML value.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string (TOML datetimes arrive as their text).
    Str(String),
    /// A sequence or array.
    Seq(Vec<Node>),
    /// A mapping or table, in file order, keys as nodes.
    Map(Vec<(Node, Node)>),
}

impl Value {
    /// A short name of the value's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

impl Node {
    /// The string value, if this node is a string.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value stored under `key`, mutable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.value {
            Value::Map(entries) => entries
                .iter_mut()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value stored under `key`, if this node is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why a file could not be turned into a [`Node`] tree.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// Where the problem is.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

impl SyntaxError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        SyntaxError {
            pos,
            message: message.into(),
        }
    }
}

/// Checks the size and encoding of raw file bytes and returns the text.
pub fn text_of(bytes: &[u8]) -> Result<&str, SyntaxError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(SyntaxError::at(
            Pos::START,
            format!(
                "file is {} bytes; config files are limited to {} bytes (1 MiB)",
                bytes.len(),
                MAX_FILE_BYTES
            ),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let text = std::str::from_utf8(good).unwrap_or_default();
        SyntaxError::at(
            Pos::of_offset(text, text.len()),
            format!(
                "file is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// Parses YAML text into a node tree. An empty document is [`Value::Null`].
pub fn parse_yaml(text: &str) -> Result<Node, SyntaxError> {
    let mut alias_limits = serde_saphyr::options::AliasLimits::default();
    alias_limits.max_total_replayed_events = MAX_NODES;
    let options = serde_saphyr::options! {
        with_snippet: false,
        // YAML 1.2 (as Compose reads it): `on`, `yes`, `off` are words, so
        // `on: [failure]` is a key, not `true`.
        strict_booleans: true,
        alias_limits: alias_limits,
        // What bounds a bomb is the expanded size (replayed events, nodes),
        // not how many aliases point at how few anchors: `<<: *common` on
        // each of 150 services is a normal file.
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_nodes: MAX_NODES,
            enforce_alias_anchor_ratio: false,
        },
    };
    let parsed: Result<Option<YamlNode>, _> = serde_saphyr::from_str_with_options(text, options);
    match parsed {
        Ok(Some(root)) => Ok(root.into()),
        Ok(None) => Ok(Node {
            pos: Pos::START,
            value: Value::Null,
        }),
        Err(e) => {
            let pos = e
                .location()
                .map(|l| Pos::new(l.line().max(1) as u32, l.column().max(1) as u32))
                .unwrap_or(Pos::START);
            Err(SyntaxError::at(pos, yaml_message(&e)))
        }
    }
}

/// The message of a serde-saphyr error without its location suffix.
fn yaml_message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    let cut = first.find(" at line ").map_or(first, |i| &first[..i]);
    format!("invalid YAML: {cut}")
}

/// A YAML node as serde-saphyr hands it over, with its span.
struct YamlNode(Spanned<Tree<YamlNode>>);

impl<'de> Deserialize<'de> for YamlNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::deserialize(d).map(YamlNode)
    }
}

impl From<YamlNode> for Node {
    fn from(n: YamlNode) -> Node {
        let at = n.0.referenced;
        let pos = Pos::new(at.line().max(1) as u32, at.column().max(1) as u32);
        n.0.value.into_node(pos)
    }
}

/// One level of a value tree as a serde `Deserializer` hands it over, with
/// children of type `S` (a wrapper that also captures their position).
pub(super) enum Tree<S> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<S>),
    Map(Vec<(S, S)>),
}

impl<S: Into<Node>> Tree<S> {
    /// The node of this tree, written at `pos`.
    pub(super) fn into_node(self, pos: Pos) -> Node {
        let value = match self {
            Tree::Null => Value::Null,
            Tree::Bool(b) => Value::Bool(b),
            Tree::Int(i) => Value::Int(i),
            Tree::Float(f) => Value::Float(f),
            Tree::Str(s) => Value::Str(s),
            Tree::Seq(items) => Value::Seq(items.into_iter().map(Into::into).collect()),
            Tree::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            ),
        };
        Node { pos, value }
    }
}

impl<'de, S: Deserialize<'de>> Deserialize<'de> for Tree<S> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor(std::marker::PhantomData))
    }
}

struct TreeVisitor<S>(std::marker::PhantomData<S>);

impl<'de, S: Deserialize<'de>> Visitor<'de> for TreeVisitor<S> {
    type Value = Tree<S>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_unit<E>(self) -> Result<Tree<S>, E> {
        Ok(Tree::Null)
    }
    fn visit_none<E>(self) -> Result<Tree<S>, E> {
        Ok(Tree::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree<S>, D::Error> {
        Tree::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Tree<S>, E> {
        Ok(Tree::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Tree<S>, E> {
        Ok(Tree::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Tree<S>, E> {
        Ok(i64::try_from(v).map_or(Tree::Float(v as f64), Tree::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Tree<S>, E> {
        Ok(i64::try_from(v).map_or(Tree::Float(v as f64), Tree::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Tree<S>, E> {
        Ok(i64::try_from(v).map_or(Tree::Float(v as f64), Tree::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Tree<S>, E> {
        Ok(Tree::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Tree<S>, E> {
        Ok(Tree::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Tree<S>, E> {
        Ok(Tree::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Tree<S>, E> {
        Err(E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree<S>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree<S>, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Tree::Map(entries))
    }
}

//! [`At<T>`]: a config value together with the position it was written at.
//!
//! Semantic checks (a cron expression, a path, a reference to a stack) run
//! after deserialization and still need to point at `file:line:col`; `At`
//! carries that position through serde. Only the config module's own
//! deserializer fills it; its JSON Schema is that of `T`.

use super::de::{DeError, Excluded, NodeDe};
use super::node::{Node, Pos, Tree};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

pub(super) const AT_MARKER: &str = "$tend::At";
pub(super) const AT_FIELDS: &[&str] = &["line", "column", "file", "clean", "value"];

/// A value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    /// Where the value starts in its file.
    pub pos: Pos,
    /// False when some part of the value was left out because it was invalid
    /// (its errors are already reported); checks that need the whole value,
    /// such as "exactly one of …", skip unclean values.
    pub clean: bool,
    /// The value.
    pub value: T,
}

impl<T> std::ops::Deref for At<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(AT_MARKER, AT_FIELDS, AtVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

struct AtVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for AtVisitor<T> {
    type Value = At<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a positioned config value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<At<T>, A::Error> {
        let (mut line, mut column, mut file, mut clean, mut value) = (1, 1, 0, true, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "line" => line = map.next_value()?,
                "column" => column = map.next_value()?,
                "file" => file = map.next_value()?,
                "clean" => clean = map.next_value()?,
                _ => value = Some(map.next_value()?),
            }
        }
        let value = value.ok_or_else(|| de::Error::missing_field("value"))?;
        Ok(At {
            pos: Pos { line, column, file },
            clean,
            value,
        })
    }
}

/// Hands [`AtVisitor`] the position, cleanliness and value of one node.
pub(super) struct AtAccess<'a> {
    node: &'a Node,
    excluded: &'a Excluded,
    clean: bool,
    step: usize,
}

impl<'a> AtAccess<'a> {
    pub(super) fn new(node: &'a Node, excluded: &'a Excluded, clean: bool) -> Self {
        AtAccess {
            node,
            excluded,
            clean,
            step: 0,
        }
    }
}

impl<'de> MapAccess<'de> for AtAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DeError> {
        let Some(name) = AT_FIELDS.get(self.step) else {
            return Ok(None);
        };
        self.step += 1;
        seed.deserialize((*name).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        match self.step {
            1 => seed.deserialize(self.node.pos.line.into_deserializer()),
            2 => seed.deserialize(self.node.pos.column.into_deserializer()),
            3 => seed.deserialize(self.node.pos.file.into_deserializer()),
            4 => seed.deserialize(self.clean.into_deserializer()),
            _ => seed.deserialize(NodeDe {
                node: self.node,
                excluded: self.excluded,
            }),
        }
    }
}

/// A value kept as a positioned [`Node`] tree, for fields that accept several
/// forms (compose's list-or-map fields) and are read by hand afterwards.
#[derive(Debug, Clone, PartialEq)]
pub struct RawNode(pub Node);

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let at = At::<Tree<RawNode>>::deserialize(d)?;
        Ok(RawNode(at.value.into_node(at.pos)))
    }
}

impl From<RawNode> for Node {
    fn from(raw: RawNode) -> Node {
        raw.0
    }
}

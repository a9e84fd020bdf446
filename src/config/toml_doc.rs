//! TOML front end: `tend.toml` text → [`Node`] tree with positions.
//!
//! Uses toml's recoverable spanned parser so that every syntax error of the
//! file is reported, not only the first; byte spans become line and column.

use super::node::{MAX_DEPTH, Node, Pos, SyntaxError, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Parses TOML text into a node tree, or every syntax error it holds.
pub fn parse_toml(text: &str) -> Result<Node, Vec<SyntaxError>> {
    let (table, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| SyntaxError {
                pos: Pos::of_offset(text, e.span().map_or(0, |s| s.start)),
                message: format!("invalid TOML: {}", e.message().trim()),
            })
            .collect());
    }
    let pos = Pos::START;
    let value = convert_table(table.into_inner(), text, 0)?;
    Ok(Node { pos, value })
}

fn convert_table(table: DeTable<'_>, text: &str, depth: usize) -> Result<Value, Vec<SyntaxError>> {
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table {
        let key_node = Node {
            pos: Pos::of_offset(text, key.span().start),
            value: Value::Str(key.into_inner().into_owned()),
        };
        entries.push((key_node, convert(value, text, depth + 1)?));
    }
    Ok(Value::Map(entries))
}

fn convert(v: Spanned<DeValue<'_>>, text: &str, depth: usize) -> Result<Node, Vec<SyntaxError>> {
    let pos = Pos::of_offset(text, v.span().start);
    if depth > MAX_DEPTH {
        return Err(vec![SyntaxError {
            pos,
            message: format!("nesting is deeper than {MAX_DEPTH} levels"),
        }]);
    }
    let value = match v.into_inner() {
        DeValue::String(s) => Value::Str(s.into_owned()),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Int(n),
            Err(_) => {
                return Err(vec![SyntaxError {
                    pos,
                    message: format!("integer `{i}` does not fit in 64 bits"),
                }]);
            }
        },
        DeValue::Float(f) => Value::Float(f.as_str().parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => Value::Bool(b),
        DeValue::Datetime(d) => Value::Str(d.to_string()),
        DeValue::Array(items) => Value::Seq(
            items
                .into_iter()
                .map(|item| convert(item, text, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table) => convert_table(table, text, depth)?,
    };
    Ok(Node { pos, value })
}

//! JSON Schemas of the config files, generated from the same types that
//! parse them, for editors (`# yaml-language-server: $schema=…`, Taplo).

use super::raw::{JobsFile, TendFile, XTend};
use schemars::{JsonSchema, generate::SchemaSettings};

/// Each schema file name with its pretty-printed JSON text.
pub fn all() -> Vec<(&'static str, String)> {
    vec![
        ("tend.schema.json", render::<TendFile>("tend.toml")),
        (
            "jobs.schema.json",
            render::<JobsFile>("tend job file (jobs/*.yaml)"),
        ),
        (
            "x-tend.schema.json",
            render::<XTend>("x-tend block of a tend stack's compose.yaml"),
        ),
    ]
}

fn render<T: JsonSchema>(title: &str) -> String {
    let generator = SchemaSettings::draft07().into_generator();
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

//! The committed JSON Schemas in `schema/` are exactly what `tend schema`
//! writes from the parsing types; regenerate with `tend schema`.

use crate::support::{Dir, project, tend};

#[test]
fn committed_schemas_are_current() {
    let out = Dir::new();
    tend(out.path(), &["schema", "--out", "."]).expect_code(0);
    for (name, _) in tend::config::schema::all() {
        let fresh = std::fs::read_to_string(out.path().join(name)).unwrap();
        let committed = std::fs::read_to_string(project().join("schema").join(name))
            .unwrap_or_else(|_| panic!("schema/{name} is missing: run `cargo run -- schema`"));
        assert!(
            fresh == committed,
            "schema/{name} is out of date: run `cargo run -- schema` and commit it"
        );
    }
}

#[test]
fn schemas_reject_unknown_keys_and_name_the_contract_fields() {
    let all = tend::config::schema::all();
    let jobs = &all
        .iter()
        .find(|(n, _)| *n == "jobs.schema.json")
        .unwrap()
        .1;
    let v: serde_json::Value = serde_json::from_str(jobs).unwrap();
    let job = &v["definitions"]["JobSpec"];
    assert_eq!(job["additionalProperties"], false);
    for field in [
        "name",
        "schedule",
        "timezone",
        "playbook",
        "inventory",
        "limit",
        "tags",
        "vars",
        "check",
        "timeout",
        "concurrency",
        "missed",
        "missed_window",
        "retries",
        "env",
        "command",
        "stack",
        "action",
        "services",
    ] {
        assert!(
            job["properties"].get(field).is_some(),
            "job field `{field}` missing from schema"
        );
    }
    let tend_toml = &all
        .iter()
        .find(|(n, _)| *n == "tend.schema.json")
        .unwrap()
        .1;
    let v: serde_json::Value = serde_json::from_str(tend_toml).unwrap();
    for key in ["defaults", "reconcile", "hosts", "notify"] {
        assert!(
            v["properties"].get(key).is_some(),
            "tend.toml `{key}` missing from schema"
        );
    }
}

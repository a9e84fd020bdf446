//! Compose projects, not only files: top-level `include` (own project
//! directory and `.env`), `extends` (same file and `file:`, chains, the
//! merge rules), `env_file` in its long form — read into one stack, every
//! bad input an error at the file and place it was written, and on a real
//! engine a change in an included file recreating only what it defines.

use crate::support::docker::{containers, shared_for};
use crate::support::{Dir, tend};

fn load(dir: &Dir) -> tend::model::Desired {
    match tend::config::load(dir.path(), chrono::Utc::now()) {
        Ok(d) => d,
        Err(tend::config::LoadError::Invalid(r)) => panic!("{}", r.render()),
        Err(e) => panic!("{e}"),
    }
}

fn project(dir: &Dir) {
    dir.write(
        "stacks/web/compose.yaml",
        "include:\n  - inc/db.yaml\n  - path: ../../shared/cache.yaml\n    project_directory: .\n    env_file: cache.env\nservices:\n  app:\n    extends: {file: base.yaml, service: tuned}\n    image: busybox:${TAG:-1}\n    environment: [B=2]\n    volumes: ['./conf:/conf:ro']\n    cap_add: [SYS_TIME]\n  side:\n    extends: app\n    command: [true]\n",
    );
    dir.write(
        "stacks/web/base.yaml",
        "services:\n  root:\n    image: busybox\n    environment: {A: '1', B: '1'}\n    cap_add: [NET_ADMIN]\n    volumes: ['./base-data:/data']\n  tuned:\n    extends: root\n    command: [sleep, '100']\n    labels: [tier=base]\n",
    );
    dir.write(
        "stacks/web/inc/db.yaml",
        "services:\n  db:\n    image: busybox:${DBTAG}\n    volumes: ['./dbdata:/var/lib/db']\n    env_file:\n      - db.env\n      - {path: local.env, required: false}\n      - {path: raw.env, format: raw}\nnetworks:\n  back: {}\n",
    );
    dir.write("stacks/web/inc/.env", "DBTAG=7\nTAG=ignored-stack-wins\n");
    dir.write("stacks/web/inc/db.env", "X='quoted'\n");
    dir.write("stacks/web/inc/raw.env", "Y='kept as written'\n");
    dir.write("stacks/web/cache.env", "CTAG=3\n");
    dir.write("stacks/web/.env", "TAG=5\n");
    dir.write(
        "shared/cache.yaml",
        "services:\n  cache:\n    image: busybox:${CTAG}\n    volumes: ['./cache:/cache']\n",
    );
}

#[test]
fn include_and_extends_make_one_project() {
    let dir = Dir::new();
    project(&dir);
    let d = load(&dir);
    let s = &d.stacks[0];
    let names: Vec<&String> = s.services.keys().collect();
    assert_eq!(names, ["app", "cache", "db", "side"]);
    let app = &s.services["app"];
    assert_eq!(app.image, "busybox:5");
    assert_eq!(
        app.command.as_deref(),
        Some(&["sleep".to_owned(), "100".to_owned()][..])
    );
    let env: Vec<(&str, Option<&str>)> = app
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    assert_eq!(env, [("A", Some("1")), ("B", Some("2"))]);
    assert_eq!(app.labels["tier"], "base");
    let caps = &app.options.cap_add;
    assert!(
        caps.contains(&"NET_ADMIN".to_owned()) && caps.contains(&"SYS_TIME".to_owned()),
        "{caps:?}"
    );
    let binds: Vec<&str> = app.volumes.iter().map(|m| m.source.as_str()).collect();
    assert_eq!(binds, ["./base-data", "./conf"]);
    assert_eq!(
        app.sources,
        ["stacks/web/compose.yaml", "stacks/web/base.yaml"]
    );
    // `side` extends `app` in the same file: app's chain, then its own command.
    assert_eq!(
        s.services["side"].command.as_deref(),
        Some(&["true".to_owned()][..])
    );
    assert_eq!(s.services["side"].image, "busybox:5");
    // The included project: its own `.env` fills what the stack leaves
    // unset, its paths resolve from its own folder.
    let db = &s.services["db"];
    assert_eq!(db.image, "busybox:7");
    assert_eq!(db.volumes[0].source, "./inc/dbdata");
    let files: Vec<(String, bool, bool)> = db
        .env_file
        .iter()
        .map(|e| (e.path.display().to_string(), e.required, e.raw))
        .collect();
    assert_eq!(
        files,
        [
            ("stacks/web/inc/db.env".into(), true, false),
            ("stacks/web/inc/local.env".into(), false, false),
            ("stacks/web/inc/raw.env".into(), true, true),
        ]
    );
    assert_eq!(db.sources, ["stacks/web/inc/db.yaml"]);
    assert!(s.networks.contains_key("back"));
    // project_directory `.` (the stack folder) and an env_file of the entry.
    let cache = &s.services["cache"];
    assert_eq!(cache.image, "busybox:3");
    assert_eq!(cache.volumes[0].source, "./cache");
    // `tend config` shows the merged project.
    let out = tend(dir.path(), &["config", ".", "web"])
        .expect_code(0)
        .stdout;
    crate::support::assert_contains_all(
        &out,
        &[
            "  cache:",
            "  db:",
            "image: busybox:7",
            "NET_ADMIN",
            "X: quoted",
            "\"Y\": \"'kept as written'\"",
        ],
    );
    assert!(!out.contains("extends"), "{out}");
}

#[test]
fn bad_project_inputs_are_errors_at_their_place() {
    let dir = Dir::new();
    dir.write(
        "stacks/bad/compose.yaml",
        "include:\n  - ../../../etc/passwd\nservices:\n  a:\n    extends: b\n    image: busybox\n  b:\n    extends: {service: a}\n    image: busybox\n",
    );
    dir.write(
        "stacks/loop/compose.yaml",
        "include: [inc/one.yaml]\nservices:\n  app:\n    image: busybox\n",
    );
    dir.write(
        "stacks/loop/inc/one.yaml",
        "include: [../compose.yaml]\nservices:\n  one:\n    image: busybox\n",
    );
    dir.write(
        "stacks/twice/compose.yaml",
        "include: [inc.yaml]\nservices:\n  app:\n    image: busybox\n    extends: {file: gone.yaml, service: x}\n",
    );
    dir.write(
        "stacks/twice/inc.yaml",
        "services:\n  app:\n    image: busybox\n",
    );
    dir.write("stacks/broken/compose.yaml", "include: [broken.yaml]\n");
    dir.write(
        "stacks/broken/broken.yaml",
        "services:\n  web:\n    image: busybox\n    ports: ['70000:80']\n    bogus: 1\n",
    );
    dir.write(
        "stacks/prof/compose.yaml",
        "services:\n  a:\n    image: busybox\n    profiles: ['my profile']\nx-tend:\n  profiles: ['a b']\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    crate::support::assert_contains_all(
        &out,
        &[
            "stacks/prof/compose.yaml:4:16: error: invalid profile name `my profile`",
            "stacks/prof/compose.yaml:6:14: error: invalid profile name `a b`",
            "stacks/bad/compose.yaml:2:5: error: include `../../../etc/passwd` leaves the repository",
            "stacks/bad/compose.yaml:8:14: error: extends cycle: a → b → a",
            "stacks/loop/inc/one.yaml:1:11: error: include cycle: stacks/loop/compose.yaml → stacks/loop/inc/one.yaml → stacks/loop/compose.yaml",
            "stacks/twice/compose.yaml:5:21: error: extends file `gone.yaml` does not exist (`stacks/twice/gone.yaml`)",
            "stacks/twice/inc.yaml:3:5: error: service `app` of stacks/twice/inc.yaml is already defined",
            "stacks/broken/broken.yaml:4:13: error: invalid port `70000:80`",
            "stacks/broken/broken.yaml:5:5: error: unknown key `bogus`",
        ],
    );
}

/// A service defined in an included file: one changed line there recreates
/// exactly that service, with the file named in the reason; 0 changes after.
#[test]
fn a_change_in_an_included_file_recreates_only_its_services() {
    let (host, _clean) = shared_for(&["inc"]);
    let dir = crate::stacks::repo(&host, false);
    let run = "command: [sleep, '3600']\n    init: true\n";
    dir.write(
        "stacks/inc/compose.yaml",
        format!("include: [parts/db.yaml]\nservices:\n  web:\n    image: localhost/busybox:v1\n    {run}"),
    );
    let db = |mode: &str| {
        format!(
            "services:\n  db:\n    image: localhost/busybox:v1\n    {run}    environment: {{MODE: {mode}}}\n  cache:\n    image: localhost/busybox:v1\n    {run}"
        )
    };
    dir.write("stacks/inc/parts/db.yaml", db("one"));
    tend(dir.path(), &["apply", "."]).expect_code(0);
    assert_eq!(
        containers(&host, "inc"),
        ["inc-cache-1", "inc-db-1", "inc-web-1"]
    );
    dir.write("stacks/inc/parts/db.yaml", db("two"));
    let out = tend(dir.path(), &["plan", "."]).expect_code(2).stdout;
    let changes: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with(['~', '+', '-']))
        .collect();
    assert_eq!(changes.len(), 1, "{out}");
    assert!(
        changes[0].contains("recreate db")
            && changes[0]
                .contains("environment changed (service read from stacks/inc/parts/db.yaml)"),
        "{out}"
    );
    tend(dir.path(), &["apply", "."]).expect_code(0);
    tend(dir.path(), &["plan", "."]).expect_code(0);
}

/// `deploy.replicas`/`scale`: containers `<stack>-<service>-1..N` with
/// their number label; scaling down removes the highest numbers first; the
/// bad counts are errors at their place.
#[test]
fn replicas_are_numbered_containers_and_scale_down_from_the_top() {
    let (host, _clean) = shared_for(&["rep"]);
    let dir = crate::stacks::repo(&host, false);
    let file = |n: &str| {
        format!(
            "services:\n  w:\n    image: localhost/busybox:v1\n    command: [sleep, '3600']\n    init: true\n    {n}\n"
        )
    };
    dir.write("stacks/rep/compose.yaml", file("deploy: {replicas: 3}"));
    tend(dir.path(), &["apply", "."]).expect_code(0);
    assert_eq!(containers(&host, "rep"), ["rep-w-1", "rep-w-2", "rep-w-3"]);
    let number = crate::support::docker::inspect(
        &host,
        "rep-w-3",
        "{{index .Config.Labels \"com.docker.compose.container-number\"}}",
    );
    assert_eq!(number, "3");
    tend(dir.path(), &["plan", "."]).expect_code(0);
    dir.write("stacks/rep/compose.yaml", file("scale: 1"));
    let out = tend(dir.path(), &["plan", "."]).expect_code(2).stdout;
    let removals: Vec<&str> = out.lines().filter(|l| l.contains("remove w")).collect();
    assert_eq!(removals.len(), 2, "{out}");
    assert!(
        removals[0].contains("remove w #3") && removals[1].contains("remove w #2"),
        "{out}"
    );
    tend(dir.path(), &["apply", "."]).expect_code(0);
    assert_eq!(containers(&host, "rep"), ["rep-w-1"]);
    dir.write(
        "stacks/rep/compose.yaml",
        "services:\n  a:\n    image: busybox\n    scale: -1\n  b:\n    image: busybox\n    scale: 2\n    deploy: {replicas: 3}\n  c:\n    image: busybox\n    scale: 2\n    container_name: c\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    crate::support::assert_contains_all(
        &out,
        &[
            "compose.yaml:4:12: error: replicas must be a whole number of containers, 0 or more (found -1)",
            "compose.yaml:8:24: error: `scale: 2` and `deploy.replicas: 3` differ",
            "compose.yaml:12:21: error: container_name cannot be set with 2 replicas",
        ],
    );
}

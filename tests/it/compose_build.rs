//! `build` on a real engine: a build-only service (no `image:`) built from
//! a context in the repository, named as compose names it, run; a no-op
//! pass builds nothing (0 mutating calls); a file `.dockerignore` leaves out
//! changes nothing, a file it keeps rebuilds and recreates; a failing
//! Dockerfile fails the apply with the builder's message and leaves the
//! running container alone.

use crate::support::docker::{docker, docker_try, inspect, shared_for};
use crate::support::tend;

/// `tend apply`, which must settle the stack; its JSON report.
fn apply(dir: &crate::support::Dir) -> serde_json::Value {
    let run = tend(dir.path(), &["apply", ".", "--format", "json"]);
    assert_eq!(run.code, 0, "{run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

#[test]
fn a_build_only_service_is_built_once_and_rebuilt_when_its_context_changes() {
    let (host, _clean) = shared_for(&["bld"]);
    let dir = crate::stacks::repo(&host, false);
    dir.write(
        "stacks/bld/compose.yaml",
        "services:\n  web:\n    build:\n      context: ./app\n      args: [GREETING]\n      labels: {made.by: tend}\n    command: [sleep, '3600']\n    init: true\n  inline:\n    build:\n      context: ./inl\n      dockerfile_inline: |\n        FROM localhost/busybox:v1\n        RUN echo inline > /made\n    image: localhost/inline:1\n    command: [sleep, '3600']\n    init: true\n",
    );
    dir.write("stacks/bld/.env", "GREETING=hello\n");
    dir.write(
        "stacks/bld/app/Dockerfile",
        "FROM localhost/busybox:v1\nARG GREETING\nRUN echo \"$GREETING\" > /greeting\nCOPY . /src\n",
    );
    dir.write("stacks/bld/app/kept.txt", "one\n");
    dir.write("stacks/bld/inl/README", "an inline Dockerfile's context\n");
    dir.write(
        "stacks/bld/app/.dockerignore",
        "# not sent\nscratch/\n*.tmp\n",
    );
    dir.write("stacks/bld/app/scratch/x", "x\n");
    apply(&dir);
    let exec = |file: &str| docker(&host, &["exec", "bld-web-1", "cat", file]);
    assert_eq!(exec("/greeting").trim(), "hello");
    assert_eq!(exec("/src/kept.txt").trim(), "one");
    let (found, _) = docker_try(&host, &["exec", "bld-web-1", "ls", "/src/scratch"]);
    assert!(!found, "the ignored folder reached the image");
    // Named as compose names a built image; the image: name when given.
    assert_eq!(inspect(&host, "bld-web-1", "{{.Config.Image}}"), "bld-web");
    assert_eq!(
        inspect(&host, "bld-web", "{{index .Config.Labels \"made.by\"}}"),
        "tend"
    );
    assert_eq!(
        docker(&host, &["exec", "bld-inline-1", "cat", "/made"]).trim(),
        "inline"
    );
    // A no-op pass: nothing built, nothing called.
    let again = apply(&dir);
    assert_eq!(again["mutating_calls"], 0, "{again:#}");
    // What .dockerignore leaves out changes nothing.
    dir.write("stacks/bld/app/notes.tmp", "scratch\n");
    tend(dir.path(), &["plan", "."]).expect_code(0);
    // A kept file: rebuild and recreate, the reason says why.
    dir.write("stacks/bld/app/kept.txt", "two\n");
    let out = tend(dir.path(), &["plan", "."]).expect_code(2).stdout;
    assert!(
        out.contains("recreate web: new commit working-tree: build changed"),
        "{out}"
    );
    assert!(!out.contains("recreate inline"), "{out}");
    apply(&dir);
    assert_eq!(exec("/src/kept.txt").trim(), "two");
    let started = inspect(&host, "bld-web-1", "{{.State.StartedAt}}");
    // A Dockerfile that fails: the apply fails with the builder's words,
    // the running container stays.
    dir.write(
        "stacks/bld/app/Dockerfile",
        "FROM localhost/busybox:v1\nRUN echo broken-step && exit 3\n",
    );
    let run = tend(dir.path(), &["apply", "."]);
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("building bld-web failed")
            && run.stdout.contains("returned a non-zero code: 3"),
        "{run:?}"
    );
    assert!(run.stdout.contains("broken-step"), "{run:?}");
    assert_eq!(inspect(&host, "bld-web-1", "{{.State.StartedAt}}"), started);
    assert_eq!(exec("/src/kept.txt").trim(), "two");
    // No Dockerfile at all: accepted as compose accepts it; the builder
    // names what is missing; the container stays.
    std::fs::remove_file(dir.path().join("stacks/bld/app/Dockerfile")).unwrap();
    tend(dir.path(), &["check", "."]).expect_code(0);
    let run = tend(dir.path(), &["apply", "."]);
    assert!(
        run.code != 0
            && run.stdout.contains("building bld-web failed")
            && run.stdout.contains("Dockerfile"),
        "{run:?}"
    );
    assert_eq!(inspect(&host, "bld-web-1", "{{.State.StartedAt}}"), started);
}

#[test]
fn bad_build_settings_are_errors_at_their_place() {
    let dir = crate::support::Dir::new();
    dir.write(
        "stacks/b/compose.yaml",
        "services:\n  a:\n    build: https://github.com/x/y.git\n  b:\n    build: ../../..\n  c:\n    build: {context: ., ssh: [default]}\n  d:\n    build: ./nothere\n  e:\n    command: [true]\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    crate::support::assert_contains_all(
        &out,
        &[
            "compose.yaml:3:12: error: build context `https://github.com/x/y.git` is remote",
            "compose.yaml:5:12: error: build context `../../..` leaves the repository",
            "compose.yaml:7:25: error: `build.ssh` is not supported yet",
            "compose.yaml:9:12: error: `stacks/b/nothere` does not exist in the repository",
            "compose.yaml:11:5: error: service e needs `image` or `build`",
        ],
    );
    // A context without its Dockerfile is accepted, as compose accepts it;
    // the builder says what is missing when the service is applied.
    assert!(!out.contains("stacks/b/Dockerfile"), "{out}");
}

//! `post_start` and `pre_stop` on a real engine: run through the exec API
//! with their user, environment and working directory, their output in the
//! apply's log; a failing `post_start` fails the apply with its output; a
//! `pre_stop` runs in the old container before it is replaced.

use crate::support::docker::{docker, shared_for};
use crate::support::tend;

#[test]
fn hooks_run_in_the_container_and_a_failing_post_start_fails_the_apply() {
    let (host, _clean) = shared_for(&["hk"]);
    let dir = crate::stacks::repo(&host, false);
    let file = |mode: &str, exit: &str| {
        format!(
            "services:\n  w:\n    image: localhost/busybox:v1\n    command: [sleep, '3600']\n    init: true\n    environment: {{MODE: {mode}}}\n    volumes: [state:/state]\n    post_start:\n      - command: sh -c 'echo \"$$GREET from $$(pwd) as $$(id -u) in $$MODE\" > /state/started; echo hook-said-hi{exit}'\n        user: '0'\n        working_dir: /state\n        environment: [GREET=hello]\n    pre_stop:\n      - command: [sh, -c, 'echo $$MODE > /state/stopped; echo pre-stop-ran']\nvolumes:\n  state:\n"
        )
    };
    dir.write("stacks/hk/compose.yaml", file("one", ""));
    let out = tend(dir.path(), &["apply", "."]).expect_code(0).stdout;
    assert!(
        out.contains("post_start `sh -c ") && out.contains("hook-said-hi"),
        "{out}"
    );
    let started = docker(&host, &["exec", "hk-w-1", "cat", "/state/started"]);
    assert_eq!(started.trim(), "hello from /state as 0 in one");
    // Replaced: pre_stop ran in the old container (MODE one), post_start in
    // the new one.
    dir.write("stacks/hk/compose.yaml", file("two", ""));
    let out = tend(dir.path(), &["apply", "."]).expect_code(0).stdout;
    assert!(
        out.contains(
            "pre_stop `sh -c echo $MODE > /state/stopped; echo pre-stop-ran`: pre-stop-ran"
        ),
        "{out}"
    );
    assert_eq!(
        docker(&host, &["exec", "hk-w-1", "cat", "/state/stopped"]).trim(),
        "one"
    );
    assert!(docker(&host, &["exec", "hk-w-1", "cat", "/state/started"]).contains("in two"));
    // A failing post_start: the apply fails and says what the hook printed.
    dir.write("stacks/hk/compose.yaml", file("three", "; exit 4"));
    let run = tend(dir.path(), &["apply", "."]);
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("post_start hook `sh -c ")
            && run.stdout.contains("exited with code 4\nhook-said-hi"),
        "{run:?}"
    );
    let bad = tend(dir.path(), &["check", "."]);
    assert_eq!(bad.code, 0, "{bad:?}");
    dir.write(
        "stacks/hk/compose.yaml",
        "services:\n  w:\n    image: busybox\n    post_start: [{user: root}]\n    pre_stop: {command: x}\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    assert!(
        out.contains("compose.yaml:4:18: error: a hook needs a `command`"),
        "{out}"
    );
    assert!(
        out.contains("compose.yaml:5:15: error: hooks are a list"),
        "{out}"
    );
}

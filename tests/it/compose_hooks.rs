//! Inside the container, on a real engine: `post_start` and `pre_stop` run
//! through the exec API with their user, environment and working directory,
//! their output in the apply's log (a failing `post_start` fails the apply
//! with its output; a `pre_stop` runs in the old container before it is
//! replaced); secrets from a variable and configs from `content` copied in
//! with their mode and owner, a change recreating with the secret named and
//! never shown.

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

#[test]
fn secrets_from_variables_and_config_content_are_copied_in() {
    let (host, _clean) = shared_for(&["sec"]);
    let dir = crate::stacks::repo(&host, false);
    dir.write(
        "stacks/sec/compose.yaml",
        "services:\n  w:\n    image: localhost/busybox:v1\n    command: [sleep, '3600']\n    init: true\n    secrets:\n      - api\n      - {source: api, target: /etc/tok, uid: '1000', gid: '1000', mode: 0400}\n    configs:\n      - {source: conf, target: /etc/app.conf}\nsecrets:\n  api:\n    environment: API_TOKEN\nconfigs:\n  conf:\n    content: |\n      level=${LEVEL:-info}\n",
    );
    dir.write("stacks/sec/.env", "API_TOKEN=tok-one\n");
    tend(dir.path(), &["apply", "."]).expect_code(0);
    let sh = |cmd: &str| docker(&host, &["exec", "sec-w-1", "sh", "-c", cmd]);
    assert_eq!(sh("cat /run/secrets/api /etc/tok"), "tok-onetok-one");
    assert_eq!(sh("cat /etc/app.conf").trim(), "level=info");
    let modes = sh("stat -c '%a %u %g %n' /run/secrets/api /etc/tok /etc/app.conf");
    assert_eq!(
        modes.trim(),
        "444 0 0 /run/secrets/api\n400 1000 1000 /etc/tok\n444 0 0 /etc/app.conf"
    );
    dir.write("stacks/sec/.env", "API_TOKEN=tok-two\n");
    let out = tend(dir.path(), &["plan", "."]).expect_code(2).stdout;
    assert!(
        out.contains("recreate w: new commit working-tree: secret api changed"),
        "{out}"
    );
    let shown = tend(dir.path(), &["config", ".", "sec"])
        .expect_code(0)
        .stdout;
    assert!(
        !out.contains("tok-two") && !shown.contains("tok-two"),
        "{out}{shown}"
    );
    assert!(shown.contains("mode: \"0400\""), "{shown}");
    tend(dir.path(), &["apply", "."]).expect_code(0);
    assert_eq!(sh("cat /etc/tok"), "tok-two");
}

//! The differential test against docker-compose 1.29: every stack of
//! `../shared/compose-corpus/` (real files as published) is checked by
//! both tools, and each stack both accept is created by docker-compose and
//! by tend on one private engine, stand-in images tagged under the file's
//! references, and every container compared field by field (Config,
//! HostConfig, mounts, networks with aliases). The comparison is
//! `scripts/bench_compose.py` in create mode — one implementation, shared
//! with the benchmark that prints the figures. It fails when a stack
//! compose accepts is refused by tend (a variable set nowhere excepted),
//! when tend refuses one without a message, when a stack compose creates
//! is not created by tend, or when fewer than 98 % of the compared
//! services are identical. A second run covers the project features
//! (`extends`, profiles, `env_file`, `scale`, `build`, secrets) on small
//! stacks of our own, all of which must be identical.

use crate::support::{project, setup_cache};
use std::path::PathBuf;
use std::process::Command;

/// The corpus: `TEND_COMPOSE_CORPUS`, else `shared/compose-corpus` beside
/// the project (or beside one of its parents), else where the team's
/// machines keep it (`/work/shared/compose-corpus`, for clean clones
/// elsewhere).
fn corpus() -> PathBuf {
    if let Some(dir) = std::env::var_os("TEND_COMPOSE_CORPUS") {
        return PathBuf::from(dir);
    }
    let root = project();
    let found = root
        .ancestors()
        .skip(1)
        .take(4)
        .map(|a| a.join("shared/compose-corpus"))
        .chain([PathBuf::from("/work/shared/compose-corpus")])
        .find(|p| p.is_dir());
    found.unwrap_or_else(|| {
        panic!(
            "the compose corpus is missing: set TEND_COMPOSE_CORPUS to the folder \
             (shared/compose-corpus beside the project, as the README says)"
        )
    })
}

#[test]
fn the_corpus_is_created_as_docker_compose_creates_it() {
    let summary = differential(&corpus(), "compose-corpus.txt", &[]);
    assert!(
        summary.contains("not reached in the time budget: 0"),
        "{summary}"
    );
}

/// The project features docker-compose 1.29 implements (`extends` with
/// `file:`, profiles, `env_file`, `scale`, `build`, secrets from files),
/// one small stack each in `tests/fixtures/compose-projects/`: every
/// container identical to compose's, on a second private engine.
#[test]
fn project_features_are_created_as_docker_compose_creates_them() {
    let fixtures = project().join("tests/fixtures/compose-projects");
    let summary = differential(
        &fixtures,
        "compose-projects.txt",
        &[
            ("CORPUS_ENGINE", "tendbr10,10.208.0.1/24,10.232.0.0/16"),
            ("CORPUS_MIN_IDENTICAL", "1.0"),
        ],
    );
    let stacks = std::fs::read_dir(&fixtures).expect("fixtures").count();
    let want = format!("compose creates {stacks}, tend creates {stacks} of them");
    assert!(summary.contains(&want), "{want}: {summary}");
}

/// Runs `scripts/bench_compose.py` in create mode over `corpus`; keeps its
/// output in `$CARGO_TARGET_DIR/<kept>` and returns its summary line.
fn differential(corpus: &std::path::Path, kept: &str, env: &[(&str, &str)]) -> String {
    let compose = Command::new("docker-compose").arg("version").output();
    assert!(
        compose.is_ok_and(|o| o.status.success()),
        "docker-compose is missing: run scripts/setup (installs Debian's docker-compose 1.29)"
    );
    let python = setup_cache("TEND_TEST_ANSIBLE", "ansible-venv/bin/ansible-playbook")
        .with_file_name("python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup (its venv has PyYAML)",
        python.display()
    );
    let out = Command::new("python3")
        .arg(project().join("scripts/bench_compose.py"))
        .arg(env!("CARGO_BIN_EXE_tend"))
        .arg(corpus)
        .arg(&python)
        .env("CORPUS_MODE", "create")
        .env("CORPUS_SECONDS", "2400")
        // The differential's engine stays out of the iptables chains the
        // shared test engine uses: engines racing on them fail network
        // creation ("unable to remove jump to DOCKER-ISOLATION-STAGE-1").
        .env("TEND_DOCKER_IPTABLES", "false")
        .envs(env.iter().copied())
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary = stdout.lines().last().unwrap_or_default().to_owned();
    // Each stack's line and the figures, kept for a look after the run.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project().join("target"), PathBuf::from);
    let kept = target.join(kept);
    std::fs::write(&kept, stdout.as_bytes()).ok();
    eprintln!("{summary} (every stack: {})", kept.display());
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(summary.starts_with("corpus: "), "{summary}");
    summary
}

//! Hostile and broken input: random and truncated YAML/TOML, huge files,
//! non-UTF-8, deep nesting, alias bombs. Each must end in a positioned error
//! (never a panic, never a hang) and leave nothing half-loaded.

use crate::support::{Dir, project};
use chrono::Utc;
use std::time::{Duration, Instant};
use tend::config::{self, LoadError};

/// Loads `dir` in-process; asserts it finishes in bounded time (5 s: a
/// debug build on a loaded two-core machine takes ~1 s for the alias bomb;
/// an unbounded expansion would take hours) and that every diagnostic
/// points inside an existing file.
fn load_bounded(dir: &Dir) -> Result<(), Vec<config::Diagnostic>> {
    let started = Instant::now();
    let result = config::load(dir.path(), Utc::now());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "load took {took:?}");
    match result {
        Ok(_) => Ok(()),
        Err(LoadError::Invalid(report)) => {
            for d in &report.diagnostics {
                assert!(d.line >= 1 && d.column >= 1, "bad position {d:?}");
                assert!(dir.path().join(&d.file).exists(), "no such file {d:?}");
                if let Some(text) = report.sources.get(&d.file) {
                    assert!(
                        d.line as usize <= text.lines().count() + 1,
                        "line past end {d:?}"
                    );
                }
            }
            Err(report.diagnostics)
        }
        Err(e) => panic!("unexpected load error {e}"),
    }
}

/// A tiny deterministic PRNG (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, original: &[u8]) -> Vec<u8> {
    const NOISE: &[u8] = b"{}[]:-&*!|>'\"\n\t #,=$%@`\\\x00\xff";
    let mut data = original.to_vec();
    match rng.below(5) {
        0 => data.truncate(rng.below(data.len())),
        1 => {
            for _ in 0..=rng.below(8) {
                let i = rng.below(data.len());
                data[i] = NOISE[rng.below(NOISE.len())];
            }
        }
        2 => {
            let i = rng.below(data.len());
            let chunk = data[i..(i + rng.below(80)).min(data.len())].to_vec();
            let at = rng.below(data.len());
            data.splice(at..at, chunk);
        }
        3 => {
            let i = rng.below(data.len());
            data.splice(i..i, NOISE.iter().copied().take(rng.below(NOISE.len())));
        }
        _ => {
            data = (0..rng.below(400))
                .map(|_| NOISE[rng.below(NOISE.len())])
                .collect()
        }
    }
    data
}

#[test]
fn random_and_truncated_files_never_panic_or_hang() {
    let files = [
        "tend.toml",
        "jobs/maintenance.yaml",
        "jobs/stacks.yaml",
        "stacks/media/compose.yaml",
        "stacks/monitoring/compose.yaml",
    ];
    let dir = Dir::copy_of(&project().join("example-repo"));
    assert_eq!(
        load_bounded(&dir),
        Ok(()),
        "the unmodified example must load"
    );
    let mut rng = Rng(0x7e4d_2026_1121_0001);
    let mut rejected = 0;
    for round in 0..600 {
        let file = files[round % files.len()];
        let original = std::fs::read(dir.path().join(file)).unwrap();
        let mutated = mutate(&mut rng, &original);
        dir.write(file, &mutated);
        if load_bounded(&dir).is_err() {
            rejected += 1;
        }
        dir.write(file, &original);
    }
    assert!(
        rejected > 300,
        "only {rejected} of 600 mutations were rejected"
    );
}

fn single_error(dir: &Dir) -> config::Diagnostic {
    let errors = load_bounded(dir).expect_err("input must be rejected");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn file_over_one_mib_is_refused_unread() {
    let dir = Dir::new();
    let mut text = String::from("jobs:\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("  - { name: filler, command: [echo] }\n");
    }
    dir.write("jobs/big.yaml", text);
    let d = single_error(&dir);
    assert_eq!((d.file.as_str(), d.line, d.column), ("jobs/big.yaml", 1, 1));
    assert!(
        d.message.contains("limited to 1048576 bytes"),
        "{}",
        d.message
    );
}

#[test]
fn non_utf8_is_refused_at_its_position() {
    let dir = Dir::new();
    dir.write("jobs/latin1.yaml", b"jobs:\n  - name: caf\xe9\n");
    let d = single_error(&dir);
    assert_eq!((d.line, d.column), (2, 14));
    assert!(d.message.contains("not valid UTF-8"), "{}", d.message);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let dir = Dir::new();
    let depth = 50_000;
    dir.write(
        "jobs/deep.yaml",
        format!("jobs: {}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    dir.write(
        "tend.toml",
        format!("x = {}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    let errors = load_bounded(&dir).expect_err("must be rejected");
    let files: Vec<&str> = errors.iter().map(|d| d.file.as_str()).collect();
    assert!(
        files.contains(&"jobs/deep.yaml") && files.contains(&"tend.toml"),
        "{errors:#?}"
    );
}

#[test]
fn alias_bomb_is_stopped() {
    let dir = Dir::new();
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text += &format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        );
    }
    dir.write("jobs/bomb.yaml", text);
    let d = single_error(&dir);
    assert_eq!(d.file, "jobs/bomb.yaml");
    assert!(d.message.contains("invalid YAML"), "{}", d.message);
}

/// The other side of the guard: what counts is the expanded size, so a
/// big stack with `<<: *common` on each of 150 services (10 anchors, 150
/// aliases, normal in real files) loads.
#[test]
fn many_aliases_of_few_anchors_are_accepted() {
    let dir = Dir::new();
    dir.write(
        "tend.toml",
        "[hosts.local]\ndocker = \"unix:///run/docker.sock\"\n",
    );
    let mut text = String::from("x-anchors:\n");
    for a in 0..10 {
        text += &format!(
            "  c{a}: &c{a}\n    image: localhost/busybox:v1\n    restart: unless-stopped\n    environment: {{ TZ: UTC, N{a}: \"{a}\" }}\n"
        );
    }
    text += "services:\n";
    for s in 0..150 {
        text += &format!("  s{s}:\n    <<: *c{}\n    hostname: h{s}\n", s % 10);
    }
    dir.write("stacks/big/compose.yaml", text);
    load_bounded(&dir).expect("150 aliases of 10 anchors load");
}

#[test]
fn every_error_of_a_file_is_reported_not_only_the_first() {
    let dir = Dir::new();
    dir.write(
        "jobs/many.yaml",
        "jobs:\n  - name: a\n    commnd: [x]\n    timeot: 1h\n  - name: b\n    playbok: p.yml\n",
    );
    let errors = load_bounded(&dir).expect_err("must be rejected");
    let at: Vec<(u32, u32)> = errors.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(at, vec![(3, 5), (4, 5), (6, 5)], "{errors:#?}");
}

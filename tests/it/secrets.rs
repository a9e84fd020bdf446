//! Secrets kept in git, encrypted. SOPS files written by the test encryptor
//! (`support::sops_seal`) are first proven real by npm `sops-age`; then a
//! stack whose `.env` and one `secrets:` file are encrypted deploys on a
//! real dockerd with the decrypted values inside its containers,
//! re-encrypting the same plaintext changes nothing, a changed value
//! recreates only its users, and each broken file is a precise error that
//! shows no plaintext.

use crate::support::age_keys::{age_keygen, sops_age, ssh_keygen};
use crate::support::docker::{docker, shared_for};
use crate::support::sops_seal;
use crate::support::{Dir, tend};
use tend::sops::{Keyring, detect};

const PW: &str = "hunter2-Zq8vYt";
const TOKEN: &str = "tok-4Kd9sLw2";
const FILE_PW: &str = "pw-in-a-file-Jx7";

fn open(
    name: &str,
    text: &str,
    ring: &Keyring,
) -> Result<tend::sops::Opened, tend::sops::SopsError> {
    detect(name, text).expect("a SOPS file")?.open(ring)
}

fn ring_of(path: &std::path::Path) -> Keyring {
    Keyring::parse(&std::fs::read_to_string(path).unwrap(), "test").unwrap()
}

#[test]
fn the_test_encryptor_writes_real_sops_files_and_tend_reads_them_alike() {
    let dir = Dir::new();
    let key = age_keygen(dir.path(), "age.key");
    let other = age_keygen(dir.path(), "other.key");
    let pairs = [
        ("DB_PASSWORD", PW),
        ("MULTI", "line one\nline two"),
        ("EMPTY", ""),
        ("NOTE_unencrypted", "plain"),
    ];
    let env = sops_seal::dotenv(&pairs, &[&key.recipient, &other.recipient]);
    let env_file = dir.write("app.env", &env);
    let bin = sops_seal::binary(&format!("{FILE_PW}\n"), &[&key.recipient]);
    let bin_file = dir.write("db_password.json", &bin);

    // The independent decrypter reads both, with either recipient's key.
    let js = sops_age(&env_file, "env", &other.file);
    for (k, v) in pairs {
        assert_eq!(js[k], v, "sops-age on {k}: {js}");
    }
    assert_eq!(
        sops_age(&bin_file, "json", &key.file)["data"],
        format!("{FILE_PW}\n")
    );

    // tend reads the same values, and knows which were encrypted.
    let opened = open("app.env", &env, &ring_of(&key.file)).unwrap();
    let got: Vec<(&str, &str, bool)> = opened
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str(), e.encrypted))
        .collect();
    assert_eq!(
        got,
        [
            ("DB_PASSWORD", PW, true),
            ("MULTI", "line one\nline two", true),
            ("EMPTY", "", false),
            ("NOTE_unencrypted", "plain", false)
        ]
    );
    let file = open("db_password.txt", &bin, &ring_of(&key.file)).unwrap();
    assert_eq!(file.text, format!("{FILE_PW}\n"));
    assert!(
        !format!("{file:?}").contains(FILE_PW),
        "Debug shows no value"
    );

    // An ssh-ed25519 identity opens a file encrypted for its public key.
    let (ssh_key, ssh_pub) = ssh_keygen(dir.path(), "id_ed25519");
    let env = sops_seal::dotenv(&[("DB_PASSWORD", PW)], &[&ssh_pub]);
    let opened = open("x.env", &env, &ring_of(&ssh_key)).unwrap();
    assert_eq!(opened.entries[0].value, PW);
}

#[test]
fn broken_sops_files_are_precise_errors_that_show_no_plaintext() {
    let dir = Dir::new();
    let key = age_keygen(dir.path(), "age.key");
    let stranger = age_keygen(dir.path(), "stranger.key");
    let ring = ring_of(&key.file);
    let good = sops_seal::dotenv(
        &[("DB_PASSWORD", PW), ("USER_unencrypted", "admin")],
        &[&key.recipient],
    );
    assert!(open(".env", &good, &ring).is_ok());

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong key",
            sops_seal::dotenv(&[("DB_PASSWORD", PW)], &[&stranger.recipient]),
            "tend holds",
        ),
        (
            "tampered value",
            tamper(&good, "DB_PASSWORD=ENC[AES256_GCM,data:"),
            "authentication failed",
        ),
        (
            "changed plain value",
            good.replace("USER_unencrypted=admin", "USER_unencrypted=root"),
            "MAC mismatch",
        ),
        (
            "truncated",
            good[..good.find("sops_lastmodified").unwrap()].to_owned(),
            "truncated",
        ),
        ("cut inside a value", good[..40].to_owned(), "truncated"),
    ];
    for (what, text, want) in &cases {
        let e = open(".env", text, &ring)
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{what}: {e}");
        assert!(!e.contains(PW), "{what}: the error shows the secret: {e}");
    }
    // Cut anywhere or with any byte flipped: an error or a verified file, never a panic.
    for at in (0..good.len()).step_by(3) {
        let cut = &good[..at];
        if let Some(Ok(sealed)) = detect(".env", cut)
            && let Ok(opened) = sealed.open(&ring)
        {
            // Only a cut in the trailing metadata lines (the rule falls back to
            // its default) can leave it whole — and then with the true values.
            let tail = good.find("sops_unencrypted_suffix").unwrap();
            assert!(at + 1 >= tail, "cut at {at}: {:?}", &good[at..]);
            assert_eq!(opened.entries[0].value, PW);
        }
        let flipped = tamper_at(&good, at);
        if flipped != good
            && let Some(Ok(sealed)) = detect(".env", &flipped)
            && let Ok(opened) = sealed.open(&ring)
        {
            // Only bytes outside values and MAC may change harmlessly.
            assert_eq!(opened.entries[0].value, PW, "flip at {at}");
        }
    }
    let e = ring_err(open(".env", &cases[0].1, &Keyring::default()));
    assert!(
        e.contains(&stranger.recipient) && e.contains("no age identity"),
        "{e}"
    );

    // Through `tend check`: the file and the reason, the commit refused.
    let repo = Dir::new();
    let age_key = format!(
        "[secrets]\nage_key = \"${{file:{}}}\"\n",
        key.file.display()
    );
    repo.write("tend.toml", &age_key);
    repo.write(
        "stacks/app/compose.yaml",
        "services:\n  app:\n    image: busybox\n    environment: { PW: \"${DB_PASSWORD}\" }\n",
    );
    for (what, text, want) in &cases {
        repo.write("stacks/app/.env", text);
        let run = tend(repo.path(), &["check", "."]).expect_code(1);
        assert!(
            run.stdout
                .contains("stacks/app/.env:1:1: error: SOPS-encrypted file"),
            "{what}: {}",
            run.stdout
        );
        assert!(run.stdout.contains(want), "{what}: {}", run.stdout);
        assert!(
            !run.stdout.contains(PW) && !run.stderr.contains(PW),
            "{what}"
        );
    }
    // Without an identity: checked for shape, and said so.
    repo.write("tend.toml", "");
    repo.write("stacks/app/.env", &good);
    let run = tend(repo.path(), &["check", "."]).expect_code(0);
    assert!(
        run.stdout.contains(&format!(
            "stacks/app/.env:1:1: warning: encrypted with SOPS (age recipients {}); not verified: no age identity",
            key.recipient
        )),
        "{}",
        run.stdout
    );
    // A variable the encrypted file does not hold is still caught.
    repo.write(
        "stacks/app/compose.yaml",
        "services:\n  app:\n    image: busybox\n    environment: { PW: \"${DB_PASSWRD}\" }\n",
    );
    let run = tend(repo.path(), &["check", "."]).expect_code(1);
    assert!(run.stdout.contains("DB_PASSWRD"), "{}", run.stdout);
}

fn ring_err(r: Result<tend::sops::Opened, tend::sops::SopsError>) -> String {
    r.map(|_| ()).unwrap_err().to_string()
}

/// `text` with the first base64 character after `marker` changed.
fn tamper(text: &str, marker: &str) -> String {
    tamper_at(text, text.find(marker).unwrap() + marker.len())
}

/// `text` with the byte at `at` changed (a line break is kept).
fn tamper_at(text: &str, at: usize) -> String {
    let mut bytes = text.as_bytes().to_vec();
    if bytes[at] != b'\n' {
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    }
    String::from_utf8(bytes).unwrap()
}

fn stack_repo(engine: &str, key: &std::path::Path) -> Dir {
    let dir = Dir::new();
    dir.write(
        "tend.toml",
        format!(
            "[secrets]\nage_key = \"${{file:{}}}\"\n\n[hosts.local]\ndocker = \"{engine}\"\n",
            key.display()
        ),
    );
    dir.write(
        "stacks/sec/compose.yaml",
        r#"services:
  app:
    image: localhost/busybox:v1
    command: ["sleep", "3600"]
    init: true
    environment: { DB_PASSWORD: "${DB_PASSWORD}", GREETING: "${GREETING_unencrypted}" }
    secrets: [db_password]
  other:
    image: localhost/busybox:v1
    command: ["sleep", "3600"]
    init: true
    env_file: [other.env]
secrets:
  db_password:
    file: ./db_password.txt
"#,
    );
    dir
}

fn seal_stack(dir: &Dir, recipient: &str, token: &str) {
    let env = [("DB_PASSWORD", PW), ("GREETING_unencrypted", "hello")];
    dir.write("stacks/sec/.env", sops_seal::dotenv(&env, &[recipient]));
    dir.write(
        "stacks/sec/other.env",
        sops_seal::dotenv(&[("TOKEN", token)], &[recipient]),
    );
    dir.write(
        "stacks/sec/db_password.txt",
        sops_seal::binary(FILE_PW, &[recipient]),
    );
}

fn apply(dir: &Dir) -> (serde_json::Value, String) {
    let run = tend(dir.path(), &["apply", ".", "--format", "json"]).expect_code(0);
    (
        serde_json::from_str(&run.stdout).unwrap(),
        run.stdout + &run.stderr,
    )
}

#[test]
fn an_encrypted_stack_deploys_decrypted_and_changes_only_what_a_secret_touches() {
    let (host, _clean) = shared_for(&["sec"]);
    let keys = Dir::new();
    let key = age_keygen(keys.path(), "age.key");
    let dir = stack_repo(&host, &key.file);
    seal_stack(&dir, &key.recipient, TOKEN);

    let (first, out) = apply(&dir);
    assert!(first["mutating_calls"].as_u64().unwrap() >= 4, "{first:#}");
    let sh = |c: &str, cmd: &str| docker(&host, &["exec", c, "sh", "-c", cmd]);
    assert_eq!(
        sh("sec-app-1", "echo $DB_PASSWORD $GREETING"),
        format!("{PW} hello")
    );
    assert_eq!(sh("sec-app-1", "cat /run/secrets/db_password"), FILE_PW);
    assert_eq!(sh("sec-other-1", "echo $TOKEN"), TOKEN);
    let mut shown = out;
    for what in [&["plan", "."][..], &["config", "."], &["check", "."]] {
        let run = tend(dir.path(), what);
        shown += &run.stdout;
        shown += &run.stderr;
    }
    for secret in [PW, TOKEN, FILE_PW] {
        assert!(!shown.contains(secret), "tend showed a secret: {shown}");
    }

    // The same plaintext encrypted again (new data keys, new IVs): nothing runs.
    seal_stack(&dir, &key.recipient, TOKEN);
    assert!(
        tend(dir.path(), &["plan", "."])
            .expect_code(0)
            .stdout
            .contains("no changes")
    );
    assert_eq!(apply(&dir).0["mutating_calls"], 0);

    // One value changed: only its user is recreated, and the reason names
    // the file, never the value.
    seal_stack(&dir, &key.recipient, "tok-changed-Qm3");
    let plan = tend(dir.path(), &["plan", "."]).expect_code(2).stdout;
    assert!(
        plan.contains(
            "~ recreate other: new commit working-tree: secret in stacks/sec/other.env changed"
        ),
        "{plan}"
    );
    assert!(!plan.contains("recreate app"), "{plan}");
    assert!(!plan.contains("tok-changed-Qm3"), "{plan}");
    apply(&dir);
    assert_eq!(sh("sec-other-1", "echo $TOKEN"), "tok-changed-Qm3");
}

#[test]
fn nested_json_and_ini_files_decrypt_alike_in_tend_and_sops_age() {
    let dir = Dir::new();
    let key = age_keygen(dir.path(), "age.key");
    let ring = ring_of(&key.file);
    let doc = serde_json::json!({
        "db": { "user": "admin", "password": PW, "port": 5432, "ratio": 1.5, "tls": true, "hosts": ["a", "b"] },
        "note_unencrypted": { "count": 3, "flag": false },
        "nothing": null,
    });
    let text = sops_seal::json_tree(&doc, &[&key.recipient]);
    let file = dir.write("app.json", &text);
    let mut js = sops_age(&file, "json", &key.file);
    js.as_object_mut().unwrap().remove("sops");
    assert_eq!(js, doc, "sops-age");
    let opened = open("app.json", &text, &ring).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&opened.text).unwrap();
    assert_eq!(ours, doc, "tend");
    let changed = text.replace("\"count\": 3", "\"count\": 4");
    assert!(ring_err(open("app.json", &changed, &ring)).contains("MAC mismatch"));
    // A value moved to another key no longer authenticates (its path is bound).
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut moved = v.clone();
    moved["db"]["user"] = v["db"]["password"].clone();
    let e = ring_err(open("app.json", &moved.to_string(), &ring));
    assert!(
        e.contains("db.user") && e.contains("authentication failed"),
        "{e}"
    );

    let ini = sops_seal::ini(
        &[("db", &[("password", PW), ("user", "admin")])],
        &[&key.recipient],
    );
    let opened = open("app.ini", &ini, &ring).unwrap();
    let names: Vec<(&str, &str)> = opened
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.value.as_str()))
        .collect();
    assert_eq!(names, [("db.password", PW), ("db.user", "admin")]);
    assert_eq!(
        opened.text,
        format!("[db]\npassword = {PW}\nuser = admin\n")
    );
}

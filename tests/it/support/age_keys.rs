//! Age and ssh keys made by the real tools (`age-keygen` from Debian's
//! `age`, `ssh-keygen`), and npm `sops-age` as an independent SOPS
//! decrypter — all installed by `scripts/setup`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// An age identity file and its recipient.
pub struct AgeKey {
    /// The identity file `age-keygen` wrote.
    pub file: PathBuf,
    /// Its `age1…` recipient.
    pub recipient: String,
}

/// A new X25519 identity at `dir/name`.
pub fn age_keygen(dir: &Path, name: &str) -> AgeKey {
    let file = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("age-keygen: {e}; run scripts/setup (apt-get install age)"));
    assert!(out.status.success(), "age-keygen failed: {out:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .expect("age-keygen writes the public key")
        .to_owned();
    AgeKey { file, recipient }
}

/// A new unencrypted ssh-ed25519 key at `dir/name`: (private key file,
/// public key line).
pub fn ssh_keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let file = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "tend-test", "-f"])
        .arg(&file)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "ssh-keygen failed: {out:?}");
    let public = std::fs::read_to_string(file.with_extension("pub")).unwrap();
    (file, public.trim().to_owned())
}

/// What npm `sops-age` decrypts `file` (of `file_type`: env, json, yaml)
/// to with the identity in `key`, as JSON.
pub fn sops_age(file: &Path, file_type: &str, key: &Path) -> serde_json::Value {
    let module = super::setup_cache("TEND_TEST_SOPS_AGE", "sops-age")
        .join("node_modules/sops-age/dist/index.js");
    assert!(
        module.exists(),
        "npm sops-age is missing at {}: run scripts/setup",
        module.display()
    );
    let script = format!(
        r#"import {{ decryptSops }} from {module:?};
import {{ readFileSync }} from "node:fs";
const secretKey = readFileSync(process.argv[2], "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
const out = await decryptSops({{ path: process.argv[1], secretKey, fileType: process.argv[3] }});
process.stdout.write(JSON.stringify(out));"#,
        module = module.display().to_string()
    );
    let out = Command::new("node")
        .args(["--input-type=module", "-e", &script])
        .arg(file)
        .arg(key)
        .arg(file_type)
        .output()
        .expect("node (run scripts/setup)");
    assert!(
        out.status.success(),
        "sops-age could not decrypt {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("sops-age prints JSON")
}

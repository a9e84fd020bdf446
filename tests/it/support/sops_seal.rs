//! A SOPS encryptor written from the file format, for the tests: a random
//! data key wrapped for each age recipient (one armored age file each),
//! each value AES-256-GCM with a random 32-byte IV and its path (`a:b:`)
//! as associated data, the SHA-512 MAC over the plaintext values in file
//! order, encrypted under the data key with `lastmodified` as associated
//! data. Its files are cross-checked by npm `sops-age` (an independent
//! decrypter) in `secrets.rs`, so they are real SOPS files, not just files
//! tend's own reader accepts.

use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};
use std::io::Read;
use std::str::FromStr;

type Gcm = aes_gcm::AesGcm<aes_gcm::aes::Aes256, aes_gcm::aead::consts::U32>;

/// Random bytes from the kernel.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut out))
        .expect("read /dev/urandom");
    out
}

/// One encryption: a data key, its recipients and the MAC being summed.
pub struct Seal {
    key: [u8; 32],
    recipients: Vec<String>,
    pub(crate) mac: Sha512,
    /// Written as `lastmodified`.
    pub lastmodified: String,
}

impl Seal {
    /// A new data key for `recipients` (`age1…` or `ssh-ed25519 …`).
    pub fn new(recipients: &[&str]) -> Seal {
        Seal {
            key: random(),
            recipients: recipients.iter().map(|r| r.to_string()).collect(),
            mac: Sha512::new(),
            lastmodified: "2026-12-02T01:02:03Z".into(),
        }
    }

    /// `value` (of SOPS type `kind`) encrypted at `path`, counted in the MAC.
    pub fn value(&mut self, path: &[&str], value: &str, kind: &str) -> String {
        self.mac.update(match (kind, value) {
            ("bool", "true") => "True",
            ("bool", "false") => "False",
            _ => value,
        });
        if value.is_empty() {
            return String::new();
        }
        let aad: String = path.iter().map(|k| format!("{k}:")).collect();
        encrypt(&self.key, value.as_bytes(), aad.as_bytes(), kind)
    }

    /// A value left plain (an `_unencrypted` key): only counted in the MAC.
    pub fn plain(&mut self, value: &str) -> String {
        self.mac.update(value);
        value.to_owned()
    }

    /// The metadata entries, in SOPS's order: (key, value) with the age
    /// stanzas as `age` list items.
    pub fn finish(self) -> Metadata {
        let mac = hex::encode_upper(self.mac.finalize());
        let mac = encrypt(
            &self.key,
            mac.as_bytes(),
            self.lastmodified.as_bytes(),
            "str",
        );
        let age = self
            .recipients
            .iter()
            .map(|r| (r.clone(), wrap(r, &self.key)))
            .collect();
        Metadata {
            age,
            lastmodified: self.lastmodified,
            mac,
        }
    }
}

/// The `sops` metadata of a sealed file.
pub struct Metadata {
    /// (recipient, armored wrapped data key).
    pub age: Vec<(String, String)>,
    /// `lastmodified`.
    pub lastmodified: String,
    /// `mac`.
    pub mac: String,
}

impl Metadata {
    /// The `sops_*` lines of a dotenv file.
    pub fn dotenv(&self) -> String {
        let mut lines = Vec::new();
        for (i, (r, enc)) in self.age.iter().enumerate() {
            lines.push(format!(
                "sops_age__list_{i}__map_enc={}",
                enc.replace('\n', "\\n")
            ));
            lines.push(format!("sops_age__list_{i}__map_recipient={r}"));
        }
        lines.push(format!("sops_lastmodified={}", self.lastmodified));
        lines.push(format!("sops_mac={}", self.mac));
        lines.push("sops_unencrypted_suffix=_unencrypted".into());
        lines.push("sops_version=3.9.4".into());
        lines.join("\n") + "\n"
    }

    /// The `sops` map as JSON.
    pub fn json(&self) -> serde_json::Value {
        let age: Vec<_> = self
            .age
            .iter()
            .map(|(r, enc)| serde_json::json!({"recipient": r, "enc": enc}))
            .collect();
        serde_json::json!({
            "kms": null, "gcp_kms": null, "azure_kv": null, "hc_vault": null,
            "age": age,
            "lastmodified": self.lastmodified,
            "mac": self.mac,
            "pgp": null,
            "unencrypted_suffix": "_unencrypted",
            "version": "3.9.4",
        })
    }
}

fn encrypt(key: &[u8; 32], plain: &[u8], aad: &[u8], kind: &str) -> String {
    let iv: [u8; 32] = random();
    let cipher = Gcm::new(GenericArray::from_slice(key));
    let out = cipher
        .encrypt(GenericArray::from_slice(&iv), Payload { msg: plain, aad })
        .expect("AES-GCM encrypt");
    let (data, tag) = out.split_at(out.len() - 16);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        STANDARD.encode(data),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}

fn wrap(recipient: &str, key: &[u8; 32]) -> String {
    if recipient.starts_with("age1") {
        let r = age::x25519::Recipient::from_str(recipient).expect("age recipient");
        age::encrypt_and_armor(&r, key).expect("wrap data key")
    } else {
        let r = age::ssh::Recipient::from_str(recipient).expect("ssh recipient");
        age::encrypt_and_armor(&r, key).expect("wrap data key")
    }
}

/// A SOPS dotenv file of `pairs` (keys ending `_unencrypted` stay plain).
pub fn dotenv(pairs: &[(&str, &str)], recipients: &[&str]) -> String {
    let mut seal = Seal::new(recipients);
    let mut out = String::new();
    for (k, v) in pairs {
        let value = if k.ends_with("_unencrypted") {
            seal.plain(v)
        } else {
            seal.value(&[k], v, "str")
        };
        out.push_str(&format!("{k}={}\n", value.replace('\n', "\\n")));
    }
    out + &seal.finish().dotenv()
}

/// A SOPS binary-store file (what `sops -e secret.txt` writes): JSON whose
/// `data` holds the whole content.
pub fn binary(content: &str, recipients: &[&str]) -> String {
    let mut seal = Seal::new(recipients);
    let data = seal.value(&["data"], content, "str");
    let doc = serde_json::json!({"data": data, "sops": seal.finish().json()});
    serde_json::to_string_pretty(&doc).expect("json")
}

/// A SOPS JSON file of `doc` (an object): every string, number and boolean
/// encrypted with its type, lists sharing their key's path, as SOPS walks
/// a tree; keys ending `_unencrypted` stay plain.
pub fn json_tree(doc: &serde_json::Value, recipients: &[&str]) -> String {
    fn walk(
        seal: &mut Seal,
        v: &serde_json::Value,
        path: &mut Vec<String>,
        plain: bool,
    ) -> serde_json::Value {
        use serde_json::Value as J;
        match v {
            J::Object(m) => J::Object(
                m.iter()
                    .map(|(k, v)| {
                        path.push(k.clone());
                        let out = walk(seal, v, path, plain || k.ends_with("_unencrypted"));
                        path.pop();
                        (k.clone(), out)
                    })
                    .collect(),
            ),
            J::Array(items) => J::Array(items.iter().map(|i| walk(seal, i, path, plain)).collect()),
            J::Null => J::Null,
            leaf => {
                let (text, kind) = match leaf {
                    J::String(s) => (s.clone(), "str"),
                    J::Bool(b) => (b.to_string(), "bool"),
                    J::Number(n) if n.is_i64() => (n.to_string(), "int"),
                    J::Number(n) => (n.to_string(), "float"),
                    _ => unreachable!("containers handled above"),
                };
                if plain {
                    seal.mac.update(match leaf {
                        J::Bool(true) => "True".to_owned(),
                        J::Bool(false) => "False".to_owned(),
                        _ => text,
                    });
                    leaf.clone()
                } else {
                    let p: Vec<&str> = path.iter().map(String::as_str).collect();
                    J::String(seal.value(&p, &text, kind))
                }
            }
        }
    }
    let mut seal = Seal::new(recipients);
    let mut body = walk(&mut seal, doc, &mut Vec::new(), false);
    body["sops"] = seal.finish().json();
    serde_json::to_string_pretty(&body).expect("json")
}

/// A SOPS INI file of `sections` (name → key/value pairs).
pub fn ini(sections: &[(&str, &[(&str, &str)])], recipients: &[&str]) -> String {
    let mut seal = Seal::new(recipients);
    let mut out = String::new();
    for (name, pairs) in sections {
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in *pairs {
            out.push_str(&format!("{k} = {}\n", seal.value(&[name, k], v, "str")));
        }
        out.push('\n');
    }
    out.push_str("[sops]\n");
    for line in seal.finish().dotenv().lines() {
        let (k, v) = line
            .trim_start_matches("sops_")
            .split_once('=')
            .expect("k=v");
        out.push_str(&format!("{k} = {v}\n"));
    }
    out
}

//! One SOPS value: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`, AES-256-GCM
//! under the file's data key with the value's path (`a:b:`) as associated
//! data, and the typed plaintext it holds.

use super::SopsError;
use aes_gcm::AesGcm;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// AES-256-GCM with the 32-byte nonces SOPS writes.
type Gcm = AesGcm<Aes256, aes_gcm::aead::consts::U32>;

/// A decrypted (or never encrypted) leaf value, typed as SOPS types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    /// `type:str` (and every dotenv/INI value).
    Str(String),
    /// `type:int`.
    Int(i64),
    /// `type:float`.
    Float(f64),
    /// `type:bool`.
    Bool(bool),
}

impl Scalar {
    /// The bytes SOPS feeds its MAC for this value.
    pub fn mac_bytes(&self) -> Vec<u8> {
        match self {
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
            other => other.text().into_bytes(),
        }
    }

    /// The value as text (booleans as `true`/`false`).
    pub fn text(&self) -> String {
        match self {
            Scalar::Str(s) => s.clone(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

/// True when `value` is in SOPS's encrypted-value format.
pub fn is_encrypted(value: &str) -> bool {
    value.starts_with("ENC[AES256_GCM,") && value.ends_with(']')
}

/// Decrypts one value; `path` is its keys joined as SOPS joins them. An
/// empty string is the empty value (SOPS does not encrypt those).
pub fn decrypt(value: &str, key: &[u8; 32], path: &str) -> Result<Scalar, SopsError> {
    if value.is_empty() {
        return Ok(Scalar::Str(String::new()));
    }
    let bad = |why: &str| SopsError::Value {
        path: shown(path),
        why: why.to_owned(),
    };
    let inner = value
        .strip_prefix("ENC[AES256_GCM,")
        .and_then(|v| v.strip_suffix(']'))
        .ok_or_else(|| bad("not an ENC[AES256_GCM,…] value"))?;
    let mut fields = [None; 4];
    for part in inner.split(',') {
        let (name, v) = part.split_once(':').ok_or_else(|| bad("malformed field"))?;
        let slot = ["data", "iv", "tag", "type"]
            .iter()
            .position(|n| *n == name);
        let slot = slot.ok_or_else(|| bad("unknown field"))?;
        fields[slot] = Some(v);
    }
    let [Some(data), Some(iv), Some(tag), Some(kind)] = fields else {
        return Err(bad("a field of data, iv, tag, type is missing"));
    };
    let b64 = |s: &str| STANDARD.decode(s).map_err(|_| bad("bad base64"));
    let (mut data, iv, tag) = (b64(data)?, b64(iv)?, b64(tag)?);
    if iv.len() != 32 || tag.len() != 16 {
        return Err(bad("iv or tag has the wrong length"));
    }
    data.extend_from_slice(&tag);
    let cipher = Gcm::new(GenericArray::from_slice(key));
    let payload = Payload {
        msg: &data,
        aad: path.as_bytes(),
    };
    let plain = cipher
        .decrypt(GenericArray::from_slice(&iv), payload)
        .map_err(|_| bad("authentication failed (wrong key, or the value was changed)"))?;
    let text = String::from_utf8(plain).map_err(|_| bad("plaintext is not UTF-8"))?;
    typed(&text, kind).ok_or_else(|| bad(&format!("plaintext is not of type {kind}")))
}

fn typed(text: &str, kind: &str) -> Option<Scalar> {
    Some(match kind {
        "str" | "bytes" | "comment" => Scalar::Str(text.to_owned()),
        "int" | "int64" => Scalar::Int(text.parse().ok()?),
        "float" => Scalar::Float(text.parse().ok()?),
        "bool" => Scalar::Bool(match text {
            "True" | "true" | "TRUE" | "1" | "t" | "T" => true,
            "False" | "false" | "FALSE" | "0" | "f" | "F" => false,
            _ => return None,
        }),
        _ => return None,
    })
}

/// A value's path as messages show it: `a.b`.
pub fn shown(path: &str) -> String {
    path.trim_end_matches(':').replace(':', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_the_sops_layout() {
        let key = [7u8; 32];
        let iv = [9u8; 32];
        let cipher = Gcm::new(GenericArray::from_slice(&key));
        let payload = Payload {
            msg: b"s3cret",
            aad: b"db:password:",
        };
        let out = cipher
            .encrypt(GenericArray::from_slice(&iv), payload)
            .unwrap();
        let (data, tag) = out.split_at(out.len() - 16);
        let enc = format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:str]",
            STANDARD.encode(data),
            STANDARD.encode(iv),
            STANDARD.encode(tag)
        );
        assert!(is_encrypted(&enc));
        let got = decrypt(&enc, &key, "db:password:").unwrap();
        assert_eq!(got, Scalar::Str("s3cret".into()));
        let moved = decrypt(&enc, &key, "db:user:").unwrap_err().to_string();
        assert!(
            moved.contains("db.user") && moved.contains("authentication"),
            "{moved}"
        );
        assert!(decrypt(&enc, &[8u8; 32], "db:password:").is_err());
        assert_eq!(Scalar::Bool(true).mac_bytes(), b"True");
        assert_eq!(Scalar::Float(1.5).mac_bytes(), b"1.5");
    }
}

//! The age identities tend holds — native X25519 keys (`AGE-SECRET-KEY-1…`
//! lines, as `age-keygen` writes them) and unencrypted OpenSSH ed25519/RSA
//! private keys, as age supports them — and unwrapping a file's data key
//! with them. [`Keyring::host`] is the one place that reads them: from the
//! `[secrets] age_key` reference, else SOPS's own `SOPS_AGE_KEY` /
//! `SOPS_AGE_KEY_FILE`, else SOPS's default key file.

use super::SopsError;
use super::meta::AgeStanza;
use std::io::Read;
use std::path::PathBuf;
use std::str::FromStr;

/// Identities to open SOPS files with; never shown.
#[derive(Default)]
pub struct Keyring {
    identities: Vec<Box<dyn age::Identity + Send + Sync>>,
    /// The recipients of the native keys, for messages.
    publics: Vec<String>,
    /// Where the keys came from, for messages.
    from: String,
    /// The key of [`Keyring::tag`], derived from the identities.
    seed: [u8; 32],
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "Keyring({} identities from {})",
            self.identities.len(),
            self.from
        )
    }
}

impl Keyring {
    /// The identities in `text` (age identity lines, `#` comments, and
    /// OpenSSH private key blocks); `from` names the source in messages.
    pub fn parse(text: &str, from: &str) -> Result<Keyring, SopsError> {
        let bad = |why: String| SopsError::Key(format!("{from}: {why}"));
        use sha2::Digest;
        let mut ring = Keyring {
            from: from.to_owned(),
            seed: sha2::Sha256::digest(format!("tend secret tags\n{text}")).into(),
            ..Keyring::default()
        };
        let mut ssh_block: Option<String> = None;
        for (no, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(block) = ssh_block.as_mut() {
                block.push_str(line);
                block.push('\n');
                if line.starts_with("-----END ") {
                    let block = ssh_block.take().unwrap_or_default();
                    ring.add_ssh(&block).map_err(&bad)?;
                }
            } else if line.starts_with("-----BEGIN ") {
                ssh_block = Some(format!("{line}\n"));
            } else if line.starts_with("AGE-SECRET-KEY-") {
                let id = age::x25519::Identity::from_str(line)
                    .map_err(|_| bad(format!("line {}: not a valid age secret key", no + 1)))?;
                ring.publics.push(id.to_public().to_string());
                ring.identities.push(Box::new(id));
            } else if !line.is_empty() && !line.starts_with('#') {
                return Err(bad(format!(
                    "line {}: neither an age secret key (AGE-SECRET-KEY-1…) nor an OpenSSH private key",
                    no + 1
                )));
            }
        }
        if ssh_block.is_some() {
            return Err(bad("an OpenSSH private key block is not closed".into()));
        }
        if ring.identities.is_empty() {
            return Err(bad("holds no age identity".into()));
        }
        Ok(ring)
    }

    fn add_ssh(&mut self, block: &str) -> Result<(), String> {
        let id = age::ssh::Identity::from_buffer(block.as_bytes(), None)
            .map_err(|e| format!("OpenSSH private key: {e}"))?;
        match id {
            age::ssh::Identity::Unencrypted(_) => {
                self.publics.push("an ssh key".into());
                self.identities.push(Box::new(id));
                Ok(())
            }
            age::ssh::Identity::Encrypted(_) => Err(
                "the OpenSSH private key is passphrase-protected; give tend an unencrypted key"
                    .into(),
            ),
            age::ssh::Identity::Unsupported(_) => {
                Err("this kind of OpenSSH key is not supported by age".into())
            }
        }
    }

    /// The host's identities: `age_key` (a resolved `[secrets] age_key`),
    /// else `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, or SOPS's default
    /// `~/.config/sops/age/keys.txt`; an empty ring when none is set.
    pub fn host(age_key: Option<&str>) -> Result<Keyring, SopsError> {
        if let Some(reference) = age_key {
            let (text, _) =
                crate::model::secret::expand(reference, &crate::model::secret::Sources::host())
                    .map_err(|e| SopsError::Key(format!("[secrets] age_key: {e}")))?;
            return Keyring::parse(&text, "[secrets] age_key");
        }
        if let Ok(text) = std::env::var("SOPS_AGE_KEY")
            && !text.trim().is_empty()
        {
            return Keyring::parse(&text, "SOPS_AGE_KEY");
        }
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        let (file, named) = match std::env::var_os("SOPS_AGE_KEY_FILE") {
            Some(f) => (PathBuf::from(f), true),
            None => match config {
                Some(c) => (c.join("sops/age/keys.txt"), false),
                None => return Ok(Keyring::default()),
            },
        };
        match std::fs::read_to_string(&file) {
            // An empty key file (a compose secret left empty): no identity.
            Ok(text) if text.trim().is_empty() => Ok(Keyring::default()),
            Ok(text) => Keyring::parse(&text, &file.display().to_string()),
            Err(_) if !named => Ok(Keyring::default()),
            Err(e) => Err(SopsError::Key(format!(
                "SOPS_AGE_KEY_FILE {}: {e}",
                file.display()
            ))),
        }
    }

    /// A tag of `text` that says whether it changed and cannot be
    /// reversed or guessed without the identities: HMAC-SHA-256 under a key
    /// derived from them (shortened).
    pub fn tag(&self, text: &str) -> String {
        use hmac::{KeyInit, Mac};
        let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.seed) else {
            return String::new();
        };
        mac.update(text.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// Opens the SOPS file at `path`. Reads the file.
    pub fn open_file(&self, path: &std::path::Path) -> Result<super::Opened, SopsError> {
        let text = std::fs::read_to_string(path).map_err(|e| SopsError::Syntax(e.to_string()))?;
        let shown = path.to_string_lossy();
        let sealed = super::detect(&shown, &text)
            .ok_or_else(|| SopsError::Syntax("no longer carries SOPS metadata".into()))??;
        sealed.open(self)
    }

    /// The value `name` of `opened` (`name` empty: the whole decrypted
    /// file) and its [`tag`](Keyring::tag).
    pub fn value(&self, opened: &super::Opened, name: &str) -> Result<(String, String), SopsError> {
        let value = if name.is_empty() {
            opened.text.clone()
        } else {
            let entry = opened.entries.iter().find(|e| e.name == name);
            entry
                .ok_or_else(|| SopsError::Syntax(format!("holds no value `{name}`")))?
                .value
                .clone()
        };
        let tag = self.tag(&format!("{name}\n{value}"));
        Ok((value, tag))
    }

    /// True when no identity is held.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// The 32-byte data key, unwrapped from the first stanza one of the
    /// identities opens.
    pub fn unwrap(&self, stanzas: &[AgeStanza]) -> Result<[u8; 32], SopsError> {
        for stanza in stanzas {
            let reader = age::armor::ArmoredReader::new(stanza.enc.as_bytes());
            let decryptor = age::Decryptor::new(reader).map_err(|e| {
                SopsError::Metadata(format!("age data key of {}: {e}", stanza.recipient))
            })?;
            let ids = self
                .identities
                .iter()
                .map(|i| i.as_ref() as &dyn age::Identity);
            match decryptor.decrypt(ids) {
                Ok(mut stream) => {
                    let mut key = Vec::new();
                    stream
                        .read_to_end(&mut key)
                        .map_err(|e| SopsError::Metadata(format!("age data key: {e}")))?;
                    return <[u8; 32]>::try_from(key.as_slice())
                        .map_err(|_| SopsError::Metadata("the data key is not 32 bytes".into()));
                }
                Err(age::DecryptError::NoMatchingKeys) => continue,
                Err(e) => {
                    return Err(SopsError::Metadata(format!(
                        "age data key of {}: {e}",
                        stanza.recipient
                    )));
                }
            }
        }
        Err(SopsError::NoKey {
            recipients: stanzas.iter().map(|s| s.recipient.clone()).collect(),
            held: self.publics.clone(),
        })
    }
}

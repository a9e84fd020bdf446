//! Files written into a container before it first starts: secrets from an
//! `environment:` source and configs from `content:`, as compose (outside
//! Swarm) copies them in.

use serde::Serialize;

/// One file copied into a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inject {
    /// What it is, as a hash part and a reason name it (`secret db_pw`).
    pub name: String,
    /// Absolute path inside the container.
    pub target: String,
    /// The content (may hold host-secret placeholders until rendered on
    /// its host); never shown.
    #[serde(skip)]
    pub content: String,
    /// Permission bits (shown in octal).
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    /// Owner user id.
    pub uid: u32,
    /// Owner group id.
    pub gid: u32,
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{mode:04o}"))
}

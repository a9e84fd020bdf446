//! Lifecycle hooks of a service (`post_start`, `pre_stop`): commands run
//! inside its container through the engine's exec API.

use serde::Serialize;
use std::collections::BTreeMap;

/// One hook command.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Hook {
    /// The command and its arguments.
    pub command: Vec<String>,
    /// The user to run it as; the container's when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Run with extended privileges.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Extra environment; a `None` value is left unset.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, Option<String>>,
    /// Working directory inside the container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
}

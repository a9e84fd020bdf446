//! A service's `build`: how tend builds its image through the engine's build
//! API, from a context inside the repository.

use serde::Serialize;
use std::collections::BTreeMap;

/// Build settings of one service, as compose's `build` key gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Build {
    /// The context folder, relative to the repository root.
    pub context: String,
    /// The Dockerfile, relative to the context (`Dockerfile` when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// A Dockerfile written inline instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dockerfile_inline: Option<String>,
    /// Build arguments; `None` (`- KEY` unset everywhere) is not sent.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, Option<String>>,
    /// The stage to build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Labels of the image.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The network `RUN` steps use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// Always pull the base images.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pull: bool,
    /// Build without the engine's layer cache.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_cache: bool,
}

//! Notifications: what an alert says ([`Alert`]), how each service wants
//! it ([`request::build`]: Apprise URL → HTTP request with that service's
//! payload) and sending it ([`send`]), natively over reqwest with rustls —
//! no Apprise sidecar.
//!
//! Every service can be pointed at another base URL with `?base=` (a
//! self-hosted instance or a test receiver): `discord://id/token?base=
//! http://127.0.0.1:9000` posts to `http://127.0.0.1:9000/api/webhooks/id/token`.

pub mod request;
mod send;
pub mod smtp;
mod trust;

pub use request::{Outgoing, build};
pub use send::{ATTEMPT_TIMEOUT, Delivered, client, send};

pub use crate::model::alert::{Alert, LOG_TAIL_BYTES, Tone, cut, redact, tail};

/// Delivers `alert` to the service `url` names (secrets already resolved):
/// one HTTP request, or one e-mail for `mailto[s]://`.
pub async fn deliver(
    client: &reqwest::Client,
    url: &str,
    alert: &Alert,
) -> Result<Delivered, AlertError> {
    let u = crate::config::notify_url::parse(url).map_err(AlertError::Url)?;
    if u.scheme.starts_with("mailto") {
        return smtp::send(&smtp::mail(&u, alert)?).await;
    }
    send(client, &request::build_from(&u, alert)?).await
}

/// Why an alert could not be built or delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The URL does not parse or lacks a part.
    #[error("{0}")]
    Url(String),
    /// The service is known but not sent by this tend.
    #[error("`{0}://` is not supported for sending yet")]
    Unsupported(String),
    /// The service said no for good (an SMTP `5xx`).
    #[error("refused: {0}")]
    Refused(String),
    /// The request did not get an answer (refused, timed out, TLS).
    #[error("no answer from {url}: {cause}")]
    Transport {
        /// Where it went.
        url: String,
        /// What went wrong, with its causes.
        cause: String,
    },
}

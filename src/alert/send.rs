//! Delivering one request: a reqwest client on rustls (ring), 10 s per
//! attempt, the answer's status, body and `Retry-After` kept for the caller
//! (the outbox decides about retries).

use super::{AlertError, Outgoing};
use std::time::Duration;

/// Time limit of one delivery attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Most of an answer's body kept (for `tend notify-test` and the log).
const KEEP_BODY: usize = 2000;

/// What the service answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivered {
    /// HTTP status.
    pub status: u16,
    /// The start of the answer's body.
    pub body: String,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<Duration>,
}

impl Delivered {
    /// 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A client for notifications (one per process is enough).
pub fn client() -> Result<reqwest::Client, AlertError> {
    // reqwest is built without a crypto provider of its own; use ring, as
    // the Docker client does. Installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("tend/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AlertError::Transport {
            url: String::new(),
            cause: causes(&e),
        })
}

/// Sends `out` once.
pub async fn send(client: &reqwest::Client, out: &Outgoing) -> Result<Delivered, AlertError> {
    let mut req = client.post(&out.url).body(out.body.to_string());
    for (k, v) in &out.headers {
        req = req.header(k, v);
    }
    // reqwest's message names the URL, and URL paths hold tokens.
    let failed = |e: reqwest::Error| AlertError::Transport {
        url: crate::model::alert::redact(&out.url),
        cause: causes(&e.without_url()),
    };
    let resp = req.send().await.map_err(failed)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(retry_after);
    let body = resp.text().await.map_err(failed)?;
    Ok(Delivered {
        status,
        body: super::cut(&body, KEEP_BODY),
        retry_after,
    })
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(s) = value.parse::<u64>() {
        return Some(Duration::from_secs(s));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
        .to_std()
        .ok()
}

fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

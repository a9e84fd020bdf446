//! Git webhook signatures: GitHub (`X-Hub-Signature-256: sha256=<hex>`),
//! Gitea/Forgejo (`X-Gitea-Signature: <hex>`), both HMAC-SHA256 of the body,
//! and GitLab (`X-Gitlab-Token: <secret>`). Comparisons are constant-time.

use axum::http::HeaderMap;
use hmac::{KeyInit, Mac};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Why a webhook request was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No signature header of a known kind.
    #[error("missing signature (X-Hub-Signature-256, X-Gitea-Signature or X-Gitlab-Token)")]
    Missing,
    /// A signature that does not match the secret.
    #[error("bad signature")]
    Bad,
}

/// Checks the request's signature against `secret`.
pub fn verify(headers: &HeaderMap, body: &[u8], secret: &[u8]) -> Result<(), WebhookError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(sig) = header("x-hub-signature-256") {
        let hex_sig = sig.strip_prefix("sha256=").ok_or(WebhookError::Bad)?;
        return hmac_matches(secret, body, hex_sig);
    }
    if let Some(sig) = header("x-gitea-signature").or_else(|| header("x-forgejo-signature")) {
        return hmac_matches(secret, body, sig);
    }
    if let Some(token) = header("x-gitlab-token") {
        return if constant_eq(token.as_bytes(), secret) {
            Ok(())
        } else {
            Err(WebhookError::Bad)
        };
    }
    Err(WebhookError::Missing)
}

fn hmac_matches(secret: &[u8], body: &[u8], hex_sig: &str) -> Result<(), WebhookError> {
    let expected = hex::decode(hex_sig).map_err(|_| WebhookError::Bad)?;
    let mut mac = HmacSha256::new_from_slice(secret).map_err(|_| WebhookError::Bad)?;
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookError::Bad)
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The HMAC-SHA256 hex signature of `body`, as GitHub and Gitea send it.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The branch a push payload names (`"ref": "refs/heads/main"`), if any.
pub fn pushed_branch(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let r = value.get("ref")?.as_str()?;
    Some(r.strip_prefix("refs/heads/").unwrap_or(r).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn github_gitea_gitlab() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let sig = sign(b"s3cret", body);
        assert_eq!(
            verify(
                &headers("x-hub-signature-256", &format!("sha256={sig}")),
                body,
                b"s3cret"
            ),
            Ok(())
        );
        assert_eq!(
            verify(&headers("x-gitea-signature", &sig), body, b"s3cret"),
            Ok(())
        );
        assert_eq!(
            verify(&headers("x-gitlab-token", "s3cret"), body, b"s3cret"),
            Ok(())
        );
        assert_eq!(
            verify(&headers("x-gitea-signature", &sig), b"tampered", b"s3cret"),
            Err(WebhookError::Bad)
        );
        assert_eq!(
            verify(&headers("x-hub-signature-256", &sig), body, b"s3cret"),
            Err(WebhookError::Bad)
        );
        assert_eq!(
            verify(&headers("x-gitlab-token", "nope"), body, b"s3cret"),
            Err(WebhookError::Bad)
        );
        assert_eq!(
            verify(&HeaderMap::new(), body, b"s3cret"),
            Err(WebhookError::Missing)
        );
        assert_eq!(pushed_branch(body).as_deref(), Some("main"));
        assert_eq!(pushed_branch(b"not json"), None);
    }
}

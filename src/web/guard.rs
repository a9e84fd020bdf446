//! What every response gets and every request passes: security headers
//! (a CSP without inline script, no sniffing, no referrer, no framing), and
//! — when a view token is configured — authentication of reads, as a
//! bearer token or as the password of HTTP basic auth (so a browser can
//! log in). `/healthz` and `/readyz` stay open for probes; the webhook and
//! manual runs keep their own checks.

use super::AppState;
use super::webhook::constant_eq;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;

/// The Content-Security-Policy of every response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Paths that need no view token.
const OPEN: [&str; 3] = ["/healthz", "/readyz", "/hooks/git"];

/// The middleware.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let open = OPEN.contains(&req.uri().path()) || req.uri().path().ends_with("/run");
    let mut resp = match &state.view_token {
        Some(token) if !open && !authorised(req.headers(), token) => {
            let mut r = (StatusCode::UNAUTHORIZED, "a view token is required\n").into_response();
            let realm = HeaderValue::from_static("Basic realm=\"tend\", charset=\"UTF-8\"");
            r.headers_mut().insert(header::WWW_AUTHENTICATE, realm);
            r
        }
        _ => next.run(req).await,
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// `Bearer <token>`, or `Basic` with any user and the token as password.
fn authorised(headers: &HeaderMap, token: &[u8]) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(given) = value.strip_prefix("Bearer ") {
        return constant_eq(given.trim().as_bytes(), token);
    }
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return false;
    };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    match decoded.iter().position(|b| *b == b':') {
        Some(at) => constant_eq(&decoded[at + 1..], token),
        None => false,
    }
}

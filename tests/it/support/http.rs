//! HTTP in tests: tend's own minimal client (`tend::web::client`) with
//! helpers that panic with context instead of returning errors.

use std::net::SocketAddr;
pub use tend::web::client::Response;

/// Sends one request; `None` when the server cannot be reached.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<Response> {
    tend::web::client::request(&addr.to_string(), method, path, headers, body).ok()
}

/// GET `path`, panicking when the server cannot be reached.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"")
        .unwrap_or_else(|| panic!("GET {path} on {addr}: no response"))
}

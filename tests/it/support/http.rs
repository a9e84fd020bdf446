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

/// A reader of `GET /api/v1/stream` over a raw connection: what arrived so
/// far, read in 200 ms slices.
pub struct Stream {
    conn: std::net::TcpStream,
    /// Everything received (headers and events).
    pub seen: String,
}

impl Stream {
    /// Opens the stream.
    pub fn open(addr: SocketAddr) -> Stream {
        use std::io::Write;
        let mut conn = std::net::TcpStream::connect(addr).expect("connect for the stream");
        conn.set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .unwrap();
        write!(
            conn,
            "GET /api/v1/stream HTTP/1.1\r\nHost: t\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        Stream {
            conn,
            seen: String::new(),
        }
    }

    /// Reads what is there (at most one 200 ms wait).
    pub fn poll(&mut self) {
        use std::io::Read;
        let mut buf = [0u8; 4096];
        if let Ok(n) = self.conn.read(&mut buf) {
            self.seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

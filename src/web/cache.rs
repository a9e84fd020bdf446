//! Rendered pages kept for a moment: the dashboard of 200 jobs costs about
//! a millisecond to build, and a wall screen, a phone and a load test all
//! ask for the same bytes. A page is reused while nothing was announced on
//! the live hub, no run was written, and it is younger than [`FRESH`] (so
//! ages and countdowns drift by at most that), and in any case for
//! [`SETTLE`] after it was rendered.
//!
//! When it is out of date, one request renders it again; requests that
//! arrive meanwhile get the previous copy instead of queueing behind the
//! render (a page the script re-fetches after a notice arrives 300 ms later,
//! long after that render is done).

use axum::body::Bytes;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use std::io::Write;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a page is reused at most.
pub const FRESH: Duration = Duration::from_secs(1);
/// How long a page is reused even when what it shows changed: at most
/// five renders a second however busy the jobs are. The script re-fetches
/// 300 ms after a notice, so it always gets a page rendered after it.
pub const SETTLE: Duration = Duration::from_millis(200);

/// A rendered page, plain and gzipped (compressed once, sent to every
/// browser that accepts it: the 200-job dashboard is ~90 KB plain, ~10 KB gzipped).
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    plain: Bytes,
    gzip: Bytes,
}

impl Page {
    fn new(plain: Bytes) -> Page {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let gzip = match gz.write_all(&plain).and_then(|()| gz.finish()) {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => Bytes::new(),
        };
        Page { plain, gzip }
    }

    /// The page as `content_type`, gzipped when the request accepts it.
    pub fn respond(&self, request: &HeaderMap, content_type: &'static str) -> Response {
        let gzip = !self.gzip.is_empty()
            && request
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
        let vary = (header::VARY, "accept-encoding");
        let kind = (header::CONTENT_TYPE, content_type);
        if gzip {
            let encoding = (header::CONTENT_ENCODING, "gzip");
            ([kind, vary, encoding], self.gzip.clone()).into_response()
        } else {
            ([kind, vary], self.plain.clone()).into_response()
        }
    }
}

/// The kept pages, by name.
#[derive(Default)]
pub struct Pages {
    kept: Mutex<Vec<Kept>>,
}

struct Kept {
    name: &'static str,
    key: (u64, u64),
    at: Instant,
    body: Option<Page>,
    rendering: bool,
}

impl Pages {
    fn lock(&self) -> MutexGuard<'_, Vec<Kept>> {
        // Nothing is rendered under the lock; a poisoned one holds only copies.
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The page `name` as of `key` (what it depends on), rendered by
    /// `render` unless a fresh copy is kept. A failed render is not kept.
    pub async fn get<F, E>(&self, name: &'static str, key: (u64, u64), render: F) -> Result<Page, E>
    where
        F: AsyncFnOnce() -> Result<Bytes, E>,
    {
        {
            let mut kept = self.lock();
            let i = match kept.iter().position(|k| k.name == name) {
                Some(i) => i,
                None => {
                    kept.push(Kept {
                        name,
                        key,
                        at: Instant::now(),
                        body: None,
                        rendering: false,
                    });
                    kept.len() - 1
                }
            };
            let k = &mut kept[i];
            match &k.body {
                Some(body) if k.at.elapsed() < SETTLE => return Ok(body.clone()),
                Some(body) if k.key == key && k.at.elapsed() < FRESH => return Ok(body.clone()),
                Some(body) if k.rendering => return Ok(body.clone()),
                _ => k.rendering = true,
            }
        }
        // Cleared however this ends, also when the request is dropped mid-render.
        let _rendering = Rendering { pages: self, name };
        let result = render().await.map(Page::new);
        if let Ok(body) = &result
            && let Some(k) = self.lock().iter_mut().find(|k| k.name == name)
        {
            k.key = key;
            k.at = Instant::now();
            k.body = Some(body.clone());
        }
        result
    }
}

/// Marks a page as no longer being rendered when dropped.
struct Rendering<'a> {
    pages: &'a Pages,
    name: &'static str,
}

impl Drop for Rendering<'_> {
    fn drop(&mut self) {
        if let Some(k) = self.pages.lock().iter_mut().find(|k| k.name == self.name) {
            k.rendering = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_is_kept_until_its_key_changes() {
        let pages = Pages::default();
        let mut renders = 0;
        let mut get = async |key| {
            pages
                .get("p", key, async || {
                    renders += 1;
                    Ok::<_, ()>(Bytes::from(format!("{key:?}")))
                })
                .await
                .unwrap()
        };
        assert_eq!(get((1, 1)).await.plain, "(1, 1)");
        // Within SETTLE even a change waits for the next render.
        assert_eq!(get((2, 1)).await.plain, "(1, 1)");
        tokio::time::sleep(SETTLE).await;
        assert_eq!(get((1, 1)).await.plain, "(1, 1)");
        let page = get((2, 1)).await;
        assert_eq!(page.plain, "(2, 1)");
        let mut unzipped = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(&page.gzip[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, "(2, 1)");
        let _ = get;
        assert_eq!(renders, 2);
        // A failed render is not kept; the old copy stays for next time.
        tokio::time::sleep(SETTLE).await;
        let failed = pages.get("p", (3, 1), async || Err::<Bytes, _>("no")).await;
        assert_eq!(failed, Err("no"));
        let again = pages
            .get("p", (2, 1), async || Ok::<_, ()>(Bytes::new()))
            .await;
        assert_eq!(again.unwrap().plain, "(2, 1)");
    }
}

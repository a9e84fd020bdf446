//! Where a notification goes out: [`Post`] sends one alert to one URL and
//! reports the answer. The daemon posts over HTTP ([`Http`]); unit tests
//! of the courier use a fake with answers and delays of their own.

use crate::alert::{self, AlertError, Delivered};
use crate::model::Alert;
use std::future::Future;
use std::pin::Pin;

/// An answer from a receiver, as a future the courier can hold.
pub type Posting = Pin<Box<dyn Future<Output = Result<Delivered, AlertError>> + Send>>;

/// Sends alerts.
pub trait Post: Send + Sync + 'static {
    /// Sends `alert` to `url` (its `${env:…}` secrets already resolved).
    fn post(&self, url: String, alert: Alert) -> Posting;
}

/// The real post: one shared HTTP client (rustls), with the request shapes
/// of `alert::request` and the per-attempt time limit of `alert::send`.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    /// A post with its own client.
    pub fn new() -> Result<Http, AlertError> {
        Ok(Http {
            client: alert::client()?,
        })
    }
}

impl Post for Http {
    fn post(&self, url: String, alert: Alert) -> Posting {
        let client = self.client.clone();
        Box::pin(async move { alert::deliver(&client, &url, &alert).await })
    }
}

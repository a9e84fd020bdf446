//! Notifications as people see them: `GET /api/v1/notifications`
//! (`?state=pending|sent|failed&limit=`) and the table on `/events`. The
//! rule's URL is never shown — only its scheme and host (`target`) — and
//! failed deliveries say why.

use super::fmt::stamp;
use super::{AppState, blocking};
use crate::model::{Delivery, Notification, word};
use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// Query of `GET /api/v1/notifications`.
#[derive(Deserialize)]
pub struct Filter {
    state: Option<Delivery>,
    limit: Option<usize>,
}

/// One notification as the API shows it.
#[derive(Serialize)]
pub struct View {
    id: u64,
    channel: String,
    target: String,
    event: String,
    subject: String,
    summary: String,
    state: Delivery,
    attempts: u32,
    created_at: chrono::DateTime<chrono::Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    done_at: Option<chrono::DateTime<chrono::Utc>>,
    last_status: Option<u16>,
    last_error: Option<String>,
}

impl From<Notification> for View {
    fn from(n: Notification) -> View {
        View {
            id: n.id,
            channel: n.channel,
            target: crate::model::alert::redact(&n.url),
            event: word(&n.alert.event),
            subject: n.alert.subject,
            summary: n.alert.summary,
            state: n.state,
            attempts: n.attempts,
            created_at: n.created_at,
            next_attempt_at: (n.state == Delivery::Pending).then_some(n.next_at),
            done_at: n.done_at,
            last_status: n.last_status,
            last_error: n.last_error,
        }
    }
}

/// `GET /api/v1/notifications`: the newest first.
pub async fn list(State(state): State<AppState>, Query(f): Query<Filter>) -> Response {
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let store = state.store.clone();
    match blocking(move || store.outbox(limit, f.state)).await {
        Ok(list) => {
            let views: Vec<View> = list.into_iter().map(View::from).collect();
            Json(serde_json::json!({ "notifications": views })).into_response()
        }
        Err(resp) => resp,
    }
}

/// One row of the page's table: when, state, channel → target, subject, detail.
pub type Row = (String, String, String, String, String);

/// The newest `limit` notifications as table rows.
pub async fn rows(state: &AppState, limit: usize) -> Vec<Row> {
    let store = state.store.clone();
    let list = blocking(move || store.outbox(limit, None))
        .await
        .unwrap_or_default();
    list.into_iter()
        .map(|n| {
            let detail = match (n.state, &n.last_error) {
                (Delivery::Sent, _) => format!("after {} attempt(s)", n.attempts),
                (_, Some(e)) => format!("{} attempt(s): {e}", n.attempts),
                (_, None) => "queued".to_owned(),
            };
            (
                stamp(Some(n.created_at)),
                word(&n.state),
                format!(
                    "{} {}",
                    word(&n.alert.event),
                    crate::model::alert::redact(&n.url)
                ),
                n.alert.subject,
                detail,
            )
        })
        .collect()
}

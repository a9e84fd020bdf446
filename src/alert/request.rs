//! From an Apprise URL and an alert to the HTTP request each service
//! expects, in the shapes Apprise sends (see ../shared/ENVIRONMENT.md):
//! `json://` `{"version":"1.0","title","message","attachments":[],"type"}`,
//! ntfy `{"topic","title","message"}` with `X-Priority`/`X-Tags`/`X-Click`,
//! Discord embeds coloured by tone, Gotify `/message` with `X-Gotify-Key`,
//! Slack incoming webhooks, Telegram `sendMessage`. Pure: nothing is sent here.

use super::{Alert, AlertError, Tone};
use crate::config::NotifyUrl;
use base64::Engine;
use serde_json::json;

/// One HTTP request to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Full URL.
    pub url: String,
    /// Extra headers (content type included).
    pub headers: Vec<(String, String)>,
    /// JSON body.
    pub body: serde_json::Value,
}

/// Request headers, in order.
type Headers = Vec<(String, String)>;

/// Discord embed colours (Apprise's): failure, success, warning.
const RED: u32 = 0xA3_2037;
const GREEN: u32 = 0x3A_A337;
const YELLOW: u32 = 0xCA_CF29;

/// The request that delivers `alert` to the service `url` names.
pub fn build(url: &str, alert: &Alert) -> Result<Outgoing, AlertError> {
    let u = crate::config::notify_url::parse(url).map_err(AlertError::Url)?;
    build_from(&u, alert)
}

/// [`build`] for a URL already parsed.
pub fn build_from(u: &NotifyUrl, alert: &Alert) -> Result<Outgoing, AlertError> {
    let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let make = match u.scheme.as_str() {
        "json" | "jsons" => json_service,
        "ntfy" | "ntfys" => ntfy,
        "discord" => discord,
        "gotify" | "gotifys" => gotify,
        "slack" => slack,
        "tgram" => telegram,
        other => return Err(AlertError::Unsupported(other.to_owned())),
    };
    Ok(make(u, alert, headers))
}

/// The value of query parameter `k`.
fn query(u: &NotifyUrl, k: &str) -> Option<String> {
    u.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

/// `?base=` (a server of one's own, or a test's), else `default`, without
/// a trailing `/`.
fn base(u: &NotifyUrl, default: &str) -> String {
    let base = query(u, "base").unwrap_or_else(|| default.to_owned());
    base.trim_end_matches('/').to_owned()
}

/// Apprise's `json://`: its own body, basic auth from the URL.
fn json_service(u: &NotifyUrl, alert: &Alert, mut headers: Headers) -> Outgoing {
    basic(u, &mut headers);
    let apprise_type = match alert.tone() {
        Tone::Bad => "failure",
        Tone::Good => "success",
        Tone::Warn => "warning",
    };
    let body = json!({
        "version": "1.0",
        "title": alert.title(),
        "message": alert.text(4000),
        "attachments": [],
        "type": apprise_type,
    });
    let url = format!("{}/{}", origin(u, "json"), u.path.join("/"));
    Outgoing { url, headers, body }
}

/// ntfy: `ntfy://topic` is ntfy.sh, `ntfy://host/topic` a server of one's
/// own; priority and tags by tone unless the URL sets them.
fn ntfy(u: &NotifyUrl, alert: &Alert, mut headers: Headers) -> Outgoing {
    let (server, topic) = match u.path.last() {
        Some(topic) => (origin(u, "ntfy"), topic.clone()),
        None => (base(u, "https://ntfy.sh"), u.host.clone()),
    };
    match u.userinfo.as_deref() {
        Some(user) if user.contains(':') => basic(u, &mut headers),
        Some(token) => headers.push(("Authorization".into(), format!("Bearer {token}"))),
        None => {}
    }
    let (priority, tags) = match alert.tone() {
        Tone::Bad => ("high", "rotating_light"),
        Tone::Good => ("default", "white_check_mark"),
        Tone::Warn => ("default", "warning"),
    };
    let priority = query(u, "priority").unwrap_or_else(|| priority.into());
    headers.push(("X-Priority".into(), priority));
    headers.push((
        "X-Tags".into(),
        query(u, "tags").unwrap_or_else(|| tags.into()),
    ));
    if let Some(click) = query(u, "click").or_else(|| alert.link.clone()) {
        headers.push(("X-Click".into(), click));
    }
    let body = json!({"topic": topic, "title": alert.title(), "message": alert.text(4000)});
    let url = format!("{}/", server.trim_end_matches('/'));
    Outgoing { url, headers, body }
}

/// A Discord webhook: one embed coloured by tone, the facts as fields.
fn discord(u: &NotifyUrl, alert: &Alert, headers: Headers) -> Outgoing {
    let (id, token) = (&u.host, u.path.first().cloned().unwrap_or_default());
    let colour = match alert.tone() {
        Tone::Bad => RED,
        Tone::Good => GREEN,
        Tone::Warn => YELLOW,
    };
    let fields: Vec<_> = alert
        .facts()
        .into_iter()
        .map(|(k, v)| json!({"name": k, "value": v, "inline": true}))
        .collect();
    let mut body = json!({"embeds": [{
        "title": alert.title(),
        "description": alert.text(2000),
        "color": colour,
        "fields": fields,
    }]});
    if let Some(name) = &u.userinfo {
        body["username"] = json!(name);
    }
    if let Some(link) = &alert.link {
        body["embeds"][0]["url"] = json!(link);
    }
    let url = format!(
        "{}/api/webhooks/{id}/{token}",
        base(u, "https://discord.com")
    );
    Outgoing { url, headers, body }
}

/// Gotify: `/message` under the URL's path, the last segment the token.
fn gotify(u: &NotifyUrl, alert: &Alert, mut headers: Headers) -> Outgoing {
    let token = u.path.last().cloned().unwrap_or_default();
    let prefix = &u.path[..u.path.len().saturating_sub(1)];
    let mut url = origin(u, "gotify");
    for p in prefix {
        url.push('/');
        url.push_str(p);
    }
    headers.push(("X-Gotify-Key".into(), token));
    let priority = if alert.tone() == Tone::Bad { 8 } else { 5 };
    let body = json!({"title": alert.title(), "message": alert.text(4000), "priority": priority});
    let url = format!("{url}/message");
    Outgoing { url, headers, body }
}

/// A Slack incoming webhook: the tokens are the URL's host and path.
fn slack(u: &NotifyUrl, alert: &Alert, headers: Headers) -> Outgoing {
    let tokens = std::iter::once(u.host.clone())
        .chain(u.path.iter().cloned())
        .collect::<Vec<_>>()
        .join("/");
    let title = alert.title();
    let text = format!("*{title}*\n{}", alert.text(2900));
    let body = json!({
        "text": title,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    });
    let url = format!("{}/services/{tokens}", base(u, "https://hooks.slack.com"));
    Outgoing { url, headers, body }
}

/// Telegram's `sendMessage`: the bot token is the host, the chat the path.
fn telegram(u: &NotifyUrl, alert: &Alert, headers: Headers) -> Outgoing {
    let chat = u.path.first().cloned().unwrap_or_default();
    let text = format!("{}\n{}", alert.title(), alert.text(3900));
    let body = json!({"chat_id": chat, "text": text});
    let url = format!(
        "{}/bot{}/sendMessage",
        base(u, "https://api.telegram.org"),
        u.host
    );
    Outgoing { url, headers, body }
}

/// `http[s]://host[:port]` of a URL whose scheme ends in `s` for TLS.
fn origin(u: &NotifyUrl, plain: &str) -> String {
    let tls = u.scheme.len() > plain.len();
    format!("{}://{}", if tls { "https" } else { "http" }, u.host)
}

/// Basic auth from `user:pass@`.
fn basic(u: &NotifyUrl, headers: &mut Vec<(String, String)>) {
    if let Some(user) = &u.userinfo {
        let token = base64::engine::general_purpose::STANDARD.encode(user);
        headers.push(("Authorization".into(), format!("Basic {token}")));
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

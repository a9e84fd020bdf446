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
    let query = |k: &str| u.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let base = |default: &str| query("base").unwrap_or_else(|| default.to_owned());
    let title = alert.title();
    let apprise_type = match alert.tone() {
        Tone::Bad => "failure",
        Tone::Good => "success",
        Tone::Warn => "warning",
    };
    let mut headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
    let out = |url: String, headers, body| Ok(Outgoing { url, headers, body });
    match u.scheme.as_str() {
        "json" | "jsons" => {
            basic(u, &mut headers);
            let body = json!({
                "version": "1.0",
                "title": title,
                "message": alert.text(4000),
                "attachments": [],
                "type": apprise_type,
            });
            out(
                format!("{}/{}", origin(u, "json"), u.path.join("/")),
                headers,
                body,
            )
        }
        "ntfy" | "ntfys" => {
            // `ntfy://topic` is ntfy.sh; `ntfy://host/topic` a server of its own.
            let (server, topic) = match u.path.last() {
                Some(topic) => (origin(u, "ntfy"), topic.clone()),
                None => (base("https://ntfy.sh"), u.host.clone()),
            };
            match u.userinfo.as_deref() {
                Some(user) if user.contains(':') => basic(u, &mut headers),
                Some(token) => headers.push(("Authorization".into(), format!("Bearer {token}"))),
                None => {}
            }
            let priority = query("priority").unwrap_or_else(|| {
                match alert.tone() {
                    Tone::Bad => "high",
                    _ => "default",
                }
                .into()
            });
            headers.push(("X-Priority".into(), priority));
            let tags = query("tags").unwrap_or_else(|| {
                match alert.tone() {
                    Tone::Bad => "rotating_light",
                    Tone::Good => "white_check_mark",
                    Tone::Warn => "warning",
                }
                .into()
            });
            headers.push(("X-Tags".into(), tags));
            if let Some(click) = query("click").or_else(|| alert.link.clone()) {
                headers.push(("X-Click".into(), click));
            }
            let body = json!({"topic": topic, "title": title, "message": alert.text(4000)});
            out(format!("{}/", server.trim_end_matches('/')), headers, body)
        }
        "discord" => {
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
                "title": title,
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
            let base = base("https://discord.com");
            let url = format!("{}/api/webhooks/{id}/{token}", base.trim_end_matches('/'));
            out(url, headers, body)
        }
        "gotify" | "gotifys" => {
            let token = u.path.last().cloned().unwrap_or_default();
            let prefix = &u.path[..u.path.len().saturating_sub(1)];
            let mut url = origin(u, "gotify");
            for p in prefix {
                url.push('/');
                url.push_str(p);
            }
            headers.push(("X-Gotify-Key".into(), token));
            let priority = if alert.tone() == Tone::Bad { 8 } else { 5 };
            let body = json!({"title": title, "message": alert.text(4000), "priority": priority});
            out(format!("{url}/message"), headers, body)
        }
        "slack" => {
            let tokens = std::iter::once(u.host.clone())
                .chain(u.path.iter().cloned())
                .collect::<Vec<_>>()
                .join("/");
            let text = format!("*{title}*\n{}", alert.text(2900));
            let body = json!({
                "text": title,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            });
            let base = base("https://hooks.slack.com");
            out(
                format!("{}/services/{tokens}", base.trim_end_matches('/')),
                headers,
                body,
            )
        }
        "tgram" => {
            let chat = u.path.first().cloned().unwrap_or_default();
            let body = json!({"chat_id": chat, "text": format!("{title}\n{}", alert.text(3900))});
            let base = base("https://api.telegram.org");
            let url = format!("{}/bot{}/sendMessage", base.trim_end_matches('/'), u.host);
            out(url, headers, body)
        }
        other => Err(AlertError::Unsupported(other.to_owned())),
    }
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

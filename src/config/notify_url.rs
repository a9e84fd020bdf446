//! Apprise-style notification URLs: split into parts and checked per
//! service (`discord://id/token`, `ntfy://topic`, `json://host/path`, …).
//! Secret references are checked elsewhere and stand in as placeholders here.

/// Services tend can notify, by URL scheme.
pub const SCHEMES: &[&str] = &[
    "discord", "ntfy", "ntfys", "gotify", "gotifys", "slack", "tgram", "json", "jsons", "mailto",
    "mailtos",
];

/// A notification URL split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyUrl {
    /// Scheme, e.g. `ntfys`.
    pub scheme: String,
    /// `user` or `user:pass` before `@`, if any.
    pub userinfo: Option<String>,
    /// First segment after `://` (host, id or token, depending on the service).
    pub host: String,
    /// Remaining `/`-separated segments, non-empty ones only.
    pub path: Vec<String>,
    /// Query parameters in order.
    pub query: Vec<(String, String)>,
}

/// Parses and checks a notification URL.
pub fn parse(url: &str) -> Result<NotifyUrl, String> {
    let url = url.trim();
    if let Some(rest) = url.strip_prefix("https://discord.com/api/webhooks/") {
        return parse(&format!("discord://{rest}"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("`{url}` is not a URL (expected `scheme://…`)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if !SCHEMES.contains(&scheme.as_str()) {
        let hint = super::de::closest(&scheme, SCHEMES)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(format!(
            "unknown notification service `{scheme}://`{hint}; supported: {}",
            SCHEMES.join(", ")
        ));
    }
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    // Credentials sit before the host: an `@` further on is part of a path
    // (`mailto://relay/ops@example.com`).
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (userinfo, rest) = match rest[..authority_end].rsplit_once('@') {
        Some((u, _)) => (Some(u.to_owned()), &rest[u.len() + 1..]),
        None => (None, rest),
    };
    let mut segments = rest.split('/').filter(|s| !s.is_empty()).map(str::to_owned);
    let parsed = NotifyUrl {
        host: segments.next().unwrap_or_default(),
        path: segments.collect(),
        query: query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_ascii_lowercase(), v.to_owned())
            })
            .collect(),
        scheme,
        userinfo,
    };
    check_shape(&parsed).map(|()| parsed)
}

fn check_shape(u: &NotifyUrl) -> Result<(), String> {
    let parts = usize::from(!u.host.is_empty()) + u.path.len();
    let need = |n: usize, form: &str| {
        if parts >= n {
            Ok(())
        } else {
            Err(format!(
                "`{}://` URL is incomplete; expected {form}",
                u.scheme
            ))
        }
    };
    match u.scheme.as_str() {
        "discord" => need(2, "discord://[botname@]webhook_id/webhook_token"),
        "ntfy" | "ntfys" => {
            need(1, "ntfy://topic or ntfys://[user:pass@]host[:port]/topic")?;
            check_ntfy_priority(u)
        }
        "gotify" | "gotifys" => need(2, "gotify://host[:port][/path]/token"),
        "slack" => need(3, "slack://TokenA/TokenB/TokenC"),
        "tgram" => need(2, "tgram://bot_token/chat_id"),
        "json" | "jsons" => need(1, "json://[user:pass@]host[:port]/path"),
        _ => need(1, "mailto://[user:pass@]smtp_host[:port]?to=address"),
    }
}

fn check_ntfy_priority(u: &NotifyUrl) -> Result<(), String> {
    const OK: &[&str] = &[
        "min", "low", "default", "high", "max", "1", "2", "3", "4", "5",
    ];
    match u.query.iter().find(|(k, _)| k == "priority") {
        Some((_, v)) if !OK.contains(&v.to_ascii_lowercase().as_str()) => Err(format!(
            "ntfy priority `{v}` is not one of min, low, default, high, max (or 1-5)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_forms() {
        for url in [
            "discord://123/abc",
            "discord://tend@123/abc",
            "https://discord.com/api/webhooks/123/abc",
            "ntfy://my-topic",
            "ntfys://ntfy.sh/my-homelab?priority=high",
            "ntfy://user:pass@127.0.0.1:8080/alerts",
            "gotify://gotify.lan/AbCd",
            "slack://T1/B2/C3",
            "tgram://123:abc/456",
            "json://127.0.0.1:9000/hook",
            "mailtos://user:pw@smtp.lan:465?to=me@example.com",
        ] {
            assert!(parse(url).is_ok(), "{url}: {:?}", parse(url));
        }
    }

    #[test]
    fn rejects_bad_forms() {
        assert!(
            parse("discrod://1/2")
                .unwrap_err()
                .contains("did you mean `discord`")
        );
        assert!(parse("discord://123").is_err());
        assert!(parse("ntfy://").is_err());
        assert!(parse("ntfys://h/t?priority=urgent").is_err());
        assert!(parse("slack://a/b").is_err());
        assert!(parse("not a url").is_err());
    }
}

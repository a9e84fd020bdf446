//! The request shapes, compared with what Apprise sends (parsed JSON).

use super::*;
use crate::model::EventKind;

fn failure() -> Alert {
    Alert {
        summary: "run 7 of backup failed (exit 1)".into(),
        commit: Some("0123456 Bump".into()),
        duration: Some(2.0),
        log_tail: Some("boom".into()),
        link: Some("https://tend.lan/runs/7".into()),
        ..crate::model::alert::sample::alert(EventKind::Failure)
    }
}

fn header<'a>(o: &'a Outgoing, name: &str) -> Option<&'a str> {
    o.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn json_is_the_apprise_generic_shape_with_basic_auth() {
    let o = build("json://me:pw@127.0.0.1:9000/hook/x", &failure()).unwrap();
    assert_eq!(o.url, "http://127.0.0.1:9000/hook/x");
    assert_eq!(header(&o, "authorization"), Some("Basic bWU6cHc="));
    assert_eq!(o.body["version"], "1.0");
    assert_eq!(o.body["title"], "tend: backup failed");
    assert_eq!(o.body["type"], "failure");
    assert_eq!(o.body["attachments"], serde_json::json!([]));
    assert!(o.body["message"].as_str().unwrap().contains("boom"));
    let o = build("jsons://h/p", &failure()).unwrap();
    assert_eq!(o.url, "https://h/p");
}

#[test]
fn ntfy_posts_the_topic_in_json_with_options_as_headers() {
    let o = build(
        "ntfy://127.0.0.1:8080/alerts?priority=max&tags=a,b",
        &failure(),
    )
    .unwrap();
    assert_eq!(o.url, "http://127.0.0.1:8080/");
    assert_eq!(o.body["topic"], "alerts");
    assert_eq!(o.body["title"], "tend: backup failed");
    assert_eq!(header(&o, "x-priority"), Some("max"));
    assert_eq!(header(&o, "x-tags"), Some("a,b"));
    assert_eq!(header(&o, "x-click"), Some("https://tend.lan/runs/7"));
    let o = build("ntfy://my-topic", &failure()).unwrap();
    assert_eq!(
        (o.url.as_str(), &o.body["topic"]),
        ("https://ntfy.sh/", &serde_json::json!("my-topic"))
    );
    let o = build("ntfys://tk_abc@ntfy.lan/t", &failure()).unwrap();
    assert_eq!(header(&o, "authorization"), Some("Bearer tk_abc"));
    assert_eq!(o.url, "https://ntfy.lan/");
}

#[test]
fn discord_sends_a_coloured_embed_under_2000_characters() {
    let mut alert = failure();
    alert.log_tail = Some("y".repeat(10_000));
    let o = build("discord://tend@123/tok?base=http://127.0.0.1:9/", &alert).unwrap();
    assert_eq!(o.url, "http://127.0.0.1:9/api/webhooks/123/tok");
    assert_eq!(o.body["username"], "tend");
    let embed = &o.body["embeds"][0];
    assert_eq!(embed["color"], 0xA32037);
    assert_eq!(embed["title"], "tend: backup failed");
    assert!(embed["description"].as_str().unwrap().chars().count() <= 2000);
    assert_eq!(embed["fields"][0]["name"], "commit");
    let o = build("https://discord.com/api/webhooks/1/2", &failure()).unwrap();
    assert_eq!(o.url, "https://discord.com/api/webhooks/1/2");
}

#[test]
fn gotify_slack_and_telegram() {
    let o = build("gotify://127.0.0.1:8000/sub/TOKEN", &failure()).unwrap();
    assert_eq!(o.url, "http://127.0.0.1:8000/sub/message");
    assert_eq!(header(&o, "x-gotify-key"), Some("TOKEN"));
    assert_eq!(o.body["title"], "tend: backup failed");
    let o = build("slack://TA/TB/TC", &failure()).unwrap();
    assert_eq!(o.url, "https://hooks.slack.com/services/TA/TB/TC");
    assert_eq!(o.body["blocks"][0]["text"]["type"], "mrkdwn");
    let o = build("tgram://123:abc/456", &failure()).unwrap();
    assert_eq!(o.url, "https://api.telegram.org/bot123:abc/sendMessage");
    assert_eq!(o.body["chat_id"], "456");
    assert!(matches!(
        build("mailto://smtp.lan?to=a@b", &failure()),
        Err(AlertError::Unsupported(_))
    ));
    assert!(matches!(
        build("nope://x", &failure()),
        Err(AlertError::Url(_))
    ));
}

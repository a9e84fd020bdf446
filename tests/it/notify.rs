//! `tend notify-test` against an HTTP recorder on 127.0.0.1: the request
//! each service gets (compared with Apprise's shapes as parsed JSON), a
//! secret from `${env:…}` that is used but never printed, and the exit code
//! for a 2xx, an error answer, no answer and a bad URL.

use crate::support::recorder::Recorder;
use crate::support::smtp::Sink;
use std::process::Command;

fn notify_test(url: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tend"))
        .args(["notify-test", url])
        .envs(env.iter().copied())
        .env("TEND_LOG", "warn")
        .output()
        .expect("run tend");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn notify_test_sends_each_service_its_shape() {
    let rec = Recorder::start(vec![]);
    let a = rec.addr;
    let (code, out, err) = notify_test(&format!("json://me:pw@{a}/hook"), &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("json://{a}/… → 200")), "{out}");
    let secret = "s3cret-webhook-token";
    let url = format!("discord://tend@123/${{env:HOOK_TOKEN}}?base=http://{a}");
    let (code, out, err) = notify_test(&url, &[("HOOK_TOKEN", secret)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(secret) && !err.contains(secret), "{out}{err}");
    let (code, ..) = notify_test(&format!("ntfy://{a}/alerts?priority=high"), &[]);
    assert_eq!(code, 0);
    let (code, ..) = notify_test(&format!("gotify://{a}/TOKEN"), &[]);
    assert_eq!(code, 0);
    let seen = rec.seen();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/hook")
    );
    assert_eq!(seen[0].header("authorization"), Some("Basic bWU6cHc="));
    let json = seen[0].json();
    assert_eq!(json["version"], "1.0");
    assert_eq!(json["type"], "success");
    assert_eq!(json["attachments"], serde_json::json!([]));
    assert_eq!(json["title"], "tend: notify-test works");
    assert_eq!(seen[1].path, format!("/api/webhooks/123/{secret}"));
    let discord = seen[1].json();
    assert_eq!(discord["username"], "tend");
    assert_eq!(discord["embeds"][0]["color"], 0x3AA337);
    assert_eq!(seen[2].path, "/");
    assert_eq!(seen[2].json()["topic"], "alerts");
    assert_eq!(seen[2].header("x-priority"), Some("high"));
    assert_eq!(seen[3].path, "/message");
    assert_eq!(seen[3].header("x-gotify-key"), Some("TOKEN"));
    assert_eq!(seen[3].header("content-type"), Some("application/json"));
}

#[test]
fn notify_test_reports_refusals_and_bad_urls() {
    let rec = Recorder::start(vec![(500, ""), (429, "retry-after: 7")]);
    let (code, out, _) = notify_test(&format!("json://{}/x", rec.addr), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("→ 500") && out.contains("recorded"), "{out}");
    let (code, out, _) = notify_test(&format!("json://{}/x", rec.addr), &[]);
    assert_eq!((code, out.contains("→ 429")), (1, true), "{out}");
    // Nothing listens on a port just freed.
    let port = crate::support::procs::free_port();
    let (code, _, err) = notify_test(&format!("json://127.0.0.1:{port}/x"), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("no answer from http://127.0.0.1"), "{err}");
    let (code, _, err) = notify_test("discrod://1/2", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `discord`"), "{err}");
    let (code, _, err) = notify_test("ntfy://${env:TEND_TEST_UNSET_VAR}", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("TEND_TEST_UNSET_VAR} is not set"), "{err}");
}

#[test]
fn mailto_sends_mail_to_a_real_smtp_server() {
    let dir = crate::support::Dir::new();
    let plain = Sink::start(dir.path(), false);
    let url = format!(
        "mailto://127.0.0.1:{}?to=ops@example.com,oncall@example.com&from=tend@example.com",
        plain.port
    );
    let (code, out, err) = notify_test(&url, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let mail = plain.received();
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(mail[0]["from"], "tend@example.com");
    assert_eq!(
        mail[0]["to"],
        serde_json::json!(["ops@example.com", "oncall@example.com"])
    );
    let data = mail[0]["data"].as_str().unwrap();
    assert!(data.contains("Subject: tend: notify-test works"), "{data}");
    assert!(data.contains("this URL is set up"), "{data}");
    // Plain SMTP never carries a password.
    let (code, _, err) = notify_test(&format!("mailto://me:pw@127.0.0.1:{}", plain.port), &[]);
    assert_eq!(code, 2);
    assert!(err.contains("use `mailtos://`"), "{err}");

    let tls = Sink::start(dir.path(), true);
    let secure = |pass: &str, verify: &str| {
        format!(
            "mailtos://alerts:{pass}@127.0.0.1:{}?to=ops@example.com{verify}",
            tls.port
        )
    };
    let (code, out, err) = notify_test(
        &secure("${env:SMTP_PW}", "&verify=no"),
        &[("SMTP_PW", "pw")],
    );
    assert_eq!(code, 0, "{out}{err}");
    let mail = tls.received();
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_eq!(
        (mail[0]["tls"].as_bool(), mail[0]["authenticated"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(mail[0]["from"], "alerts@127.0.0.1");
    assert!(!out.contains("pw@") && !err.contains("pw@"), "{out}{err}");
    // A wrong password is refused for good; a self-signed certificate is
    // refused unless verify=no.
    let (code, _, err) = notify_test(&secure("wrong", "&verify=no"), &[]);
    assert_eq!(code, 1);
    assert!(err.contains("refused: 535"), "{err}");
    let (code, _, err) = notify_test(&secure("pw", ""), &[]);
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert_eq!(tls.received().len(), 1);
}

//! The HTTP layer through `tower::ServiceExt::oneshot` (axum's testing
//! pattern): webhook signatures of GitHub, Gitea and GitLab, missing and bad
//! signatures, oversized bodies, the webhook switched off, readiness, and
//! event paging — over a real store in a temp folder.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tend::model::{AuditKind, DesiredSummary, SourceMode, SourceStatus, Status};
use tend::store::Store;
use tend::web::{AppState, router, webhook};
use tower::ServiceExt;

fn status(applied: Option<&str>, fetched_ago: Option<i64>) -> Status {
    let at = fetched_ago.map(|s| chrono::Utc::now() - chrono::Duration::seconds(s));
    Status {
        source: SourceStatus {
            url: "git://example/cfg.git".into(),
            branch: Some("main".into()),
            mode: SourceMode::Git,
            uncommitted: false,
            fetched_commit: applied.map(str::to_owned),
            applied_commit: applied.map(str::to_owned),
            applied_summary: None,
            applied_at: None,
            last_fetch_at: at,
            last_success_at: at,
            last_fetch_error: None,
        },
        config_errors: vec![],
        desired: DesiredSummary::default(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    pushes: Arc<AtomicUsize>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("tend.redb")).unwrap();
        Fixture {
            _dir: dir,
            store,
            pushes: Arc::default(),
        }
    }

    /// Everything off: no secret, no tokens, no trigger.
    fn state(&self, status: Status) -> AppState {
        AppState {
            status: tokio::sync::watch::channel(status).1,
            store: self.store.reader(),
            webhook_secret: None,
            on_push: Arc::new(|| {}),
            poll_interval: None,
            applied: tokio::sync::watch::channel(None).1,
            api_token: None,
            trigger: None,
            stacks: tokio::sync::watch::channel(Vec::new()).1,
            metrics: Arc::default(),
            view_token: None,
            live: tend::live::Hub::default(),
            pages: Default::default(),
        }
    }

    fn app(&self, status: Status, secret: Option<&str>) -> axum::Router {
        let pushes = self.pushes.clone();
        router(AppState {
            webhook_secret: secret.map(|s| Arc::new(s.as_bytes().to_vec())),
            on_push: Arc::new(move || {
                pushes.fetch_add(1, Ordering::SeqCst);
            }),
            poll_interval: Some(Duration::from_secs(60)),
            ..self.state(status)
        })
    }

    /// The app with manual runs on (token `tok`); the trigger answers run 42
    /// for job `known` and "no job" otherwise.
    fn app_with_trigger(&self) -> axum::Router {
        let trigger: tend::web::TriggerFn = Arc::new(|job: String| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = tx.send(if job == "known" {
                Ok(42)
            } else {
                Err(format!("no job `{job}`"))
            });
            rx
        });
        router(AppState {
            api_token: Some(Arc::new(b"tok".to_vec())),
            trigger: Some(trigger),
            ..self.state(status(None, None))
        })
    }
}

async fn call(app: axum::Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let resp = app.oneshot(req).await.unwrap();
    let code = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        code,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

/// A response body as text.
async fn text(resp: axum::response::Response) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn hook(headers: &[(&str, &str)], body: &[u8]) -> Request<Body> {
    let mut req = Request::post("/hooks/git");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(Body::from(body.to_vec())).unwrap()
}

#[tokio::test]
async fn webhook_signatures() {
    let fx = Fixture::new();
    let body = br#"{"ref":"refs/heads/main","after":"abc"}"#;
    let sig = webhook::sign(b"s3cret", body);
    let github = format!("sha256={sig}");
    let cases: Vec<(Vec<(&str, &str)>, StatusCode)> = vec![
        (
            vec![("X-Hub-Signature-256", github.as_str())],
            StatusCode::ACCEPTED,
        ),
        (
            vec![("X-Gitea-Signature", sig.as_str())],
            StatusCode::ACCEPTED,
        ),
        (vec![("X-Gitlab-Token", "s3cret")], StatusCode::ACCEPTED),
        (
            vec![("X-Hub-Signature-256", "sha256=00ff")],
            StatusCode::UNAUTHORIZED,
        ),
        (
            vec![("X-Gitea-Signature", "zz-not-hex")],
            StatusCode::UNAUTHORIZED,
        ),
        (vec![("X-Gitlab-Token", "wrong")], StatusCode::UNAUTHORIZED),
        (vec![], StatusCode::UNAUTHORIZED),
    ];
    for (headers, want) in cases {
        let (code, body_json) = call(
            fx.app(status(None, None), Some("s3cret")),
            hook(&headers, body),
        )
        .await;
        assert_eq!(code, want, "{headers:?}: {body_json}");
    }
    assert_eq!(
        fx.pushes.load(Ordering::SeqCst),
        3,
        "only verified pushes request a reconcile"
    );

    let other = br#"{"ref":"refs/heads/feature"}"#;
    let sig = webhook::sign(b"s3cret", other);
    let (code, body) = call(
        fx.app(status(None, None), Some("s3cret")),
        hook(&[("X-Gitea-Signature", &sig)], other),
    )
    .await;
    assert_eq!(
        (code, body["queued"].as_bool()),
        (StatusCode::ACCEPTED, Some(false))
    );
    assert_eq!(fx.pushes.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn webhook_limits_and_switch() {
    let fx = Fixture::new();
    let big = vec![b'x'; tend::web::MAX_WEBHOOK_BYTES + 1];
    let sig = webhook::sign(b"s3cret", &big);
    let (code, _) = call(
        fx.app(status(None, None), Some("s3cret")),
        hook(&[("X-Gitea-Signature", &sig)], &big),
    )
    .await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    let (code, body) = call(
        fx.app(status(None, None), None),
        hook(&[("X-Gitlab-Token", "x")], b"{}"),
    )
    .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "{body}");
    let garbage = [0xffu8, 0, 1, 2, 0xfe];
    let sig = webhook::sign(b"s3cret", &garbage);
    let (code, _) = call(
        fx.app(status(None, None), Some("s3cret")),
        hook(&[("X-Gitea-Signature", &sig)], &garbage),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::ACCEPTED,
        "a signed non-JSON body still just triggers a fetch"
    );
    assert_eq!(fx.pushes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn readiness_follows_applied_commit_and_fetch_age() {
    let fx = Fixture::new();
    let get = |s| Request::get("/readyz").body(Body::empty()).map(|r| (s, r));
    for (s, want) in [
        (status(None, Some(1)), StatusCode::SERVICE_UNAVAILABLE),
        (status(Some("abc"), Some(1)), StatusCode::OK),
        (
            status(Some("abc"), Some(181)),
            StatusCode::SERVICE_UNAVAILABLE,
        ),
        (status(Some("abc"), None), StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let (s, req) = get(s).unwrap();
        let (code, body) = call(fx.app(s, None), req).await;
        assert_eq!(code, want, "{body}");
    }
    let (code, _) = call(
        fx.app(status(None, None), None),
        Request::get("/healthz").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn events_are_paged_newest_first() {
    let fx = Fixture::new();
    for i in 0..5 {
        fx.store
            .record(
                AuditKind::FetchFailed,
                None,
                format!("e{i}"),
                serde_json::Value::Null,
                &[],
                &[],
            )
            .unwrap();
    }
    let req = Request::get("/api/v1/events?limit=2")
        .body(Body::empty())
        .unwrap();
    let (code, page) = call(fx.app(status(None, None), None), req).await;
    assert_eq!(code, StatusCode::OK);
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![5, 4]);
    assert_eq!(page["next_before"], 4);
    let req = Request::get("/api/v1/events?limit=10&before=4")
        .body(Body::empty())
        .unwrap();
    let (_, page) = call(fx.app(status(None, None), None), req).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    assert!(page["next_before"].is_null());
    let req = Request::get("/api/v1/events?limit=abc")
        .body(Body::empty())
        .unwrap();
    let (code, _) = call(fx.app(status(None, None), None), req).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn manual_runs_need_the_token() {
    let fx = Fixture::new();
    let post = |path: &str, auth: Option<&str>| {
        let mut r = Request::post(path);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.body(Body::empty()).unwrap()
    };
    let (code, _) = call(
        fx.app(status(None, None), None),
        post("/api/v1/jobs/known/run", Some("Bearer tok")),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "off without a configured token"
    );
    let (code, _) = call(fx.app_with_trigger(), post("/api/v1/jobs/known/run", None)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = call(
        fx.app_with_trigger(),
        post("/api/v1/jobs/known/run", Some("Bearer nope")),
    )
    .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, body) = call(
        fx.app_with_trigger(),
        post("/api/v1/jobs/known/run", Some("Bearer tok")),
    )
    .await;
    assert_eq!(
        (code, body["run"].as_u64()),
        (StatusCode::ACCEPTED, Some(42))
    );
    let (code, _) = call(
        fx.app_with_trigger(),
        post("/api/v1/jobs/ghost/run", Some("Bearer tok")),
    )
    .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn view_token_guards_reads_and_every_response_has_security_headers() {
    let fx = Fixture::new();
    let app = router(AppState {
        view_token: Some(Arc::new(b"look".to_vec())),
        ..fx.state(status(Some("abc"), Some(1)))
    });
    let get = |path: &str, auth: Option<&str>| {
        let mut req = Request::get(path);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.body(Body::empty()).unwrap()
    };
    use base64::Engine;
    let basic = |pw: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("me:{pw}"))
        )
    };
    for (path, auth, want) in [
        ("/api/v1/status", None, StatusCode::UNAUTHORIZED),
        (
            "/api/v1/status",
            Some("Bearer nope".to_owned()),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "/api/v1/status",
            Some(basic("nope")),
            StatusCode::UNAUTHORIZED,
        ),
        ("/metrics", None, StatusCode::UNAUTHORIZED),
        (
            "/api/v1/status",
            Some("Bearer look".to_owned()),
            StatusCode::OK,
        ),
        ("/api/v1/status", Some(basic("look")), StatusCode::OK),
        ("/metrics", Some("Bearer look".to_owned()), StatusCode::OK),
        ("/healthz", None, StatusCode::OK),
    ] {
        let resp = app
            .clone()
            .oneshot(get(path, auth.as_deref()))
            .await
            .unwrap();
        assert_eq!(resp.status(), want, "{path} {auth:?}");
        let h = resp.headers();
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("script-src 'self'")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert_eq!(h["x-frame-options"], "DENY");
        if want == StatusCode::UNAUTHORIZED {
            assert!(h["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        }
    }
}

#[tokio::test]
async fn dashboard_renders_and_escapes_what_it_shows() {
    let fx = Fixture::new();
    let mut st = status(Some("0123456789abcdef"), Some(5));
    st.source.applied_summary = Some("<b>bold</b> summary".into());
    st.config_errors = vec![tend::model::Diagnostic {
        file: "tend.toml".into(),
        line: 3,
        column: 1,
        message: "unknown key `<script>alert(1)</script>`".into(),
    }];
    let app = router(fx.state(st));
    let resp = app
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = text(resp).await;
    assert!(body.contains("<code>0123456</code>"), "{body}");
    assert!(body.contains("5 s ago"), "{body}");
    assert!(
        body.contains("tend.toml:3:1: unknown key `&#60;script&#62;alert(1)&#60;/script&#62;`")
            || body.contains("tend.toml:3:1: unknown key `&lt;script&gt;alert(1)&lt;/script&gt;`"),
        "{body}"
    );
    assert!(
        !body.contains("<script>") && !body.contains("<b>bold"),
        "nothing unescaped: {body}"
    );
    // A browser that accepts gzip gets the same page compressed.
    let zipped = app
        .clone()
        .oneshot(
            Request::get("/")
                .header("accept-encoding", "gzip, deflate, br")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    let bytes = zipped.into_body().collect().await.unwrap().to_bytes();
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut unzipped)
        .unwrap();
    assert_eq!(unzipped, body);
    let css = app
        .oneshot(
            Request::get("/assets/tend.css")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn events_filter_by_kind_in_the_api_and_the_page() {
    let fx = Fixture::new();
    for i in 0..30 {
        let kind = if i % 10 == 0 {
            tend::model::AuditKind::Drift
        } else {
            tend::model::AuditKind::StackApplied
        };
        fx.store
            .record(
                kind,
                None,
                format!("event {i}"),
                serde_json::Value::Null,
                &[],
                &[],
            )
            .unwrap();
    }
    let app = router(fx.state(status(None, None)));
    let get = |path: &str| Request::get(path).body(Body::empty()).unwrap();
    let (code, body) = call(app.clone(), get("/api/v1/events?kind=drift&limit=2")).await;
    assert_eq!(code, StatusCode::OK);
    let reasons: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["event 20", "event 10"]);
    let next = body["next_before"].as_u64().unwrap();
    let (_, body) = call(
        app.clone(),
        get(&format!("/api/v1/events?kind=drift&limit=2&before={next}")),
    )
    .await;
    assert_eq!(body["events"][0]["reason"], "event 0");
    assert!(body["next_before"].is_null());
    let resp = app.oneshot(get("/events?kind=drift")).await.unwrap();
    let page = text(resp).await;
    assert_eq!(
        page.matches("<span class=\"kind\">drift</span>").count(),
        3,
        "{page}"
    );
    assert!(!page.contains("stack-applied</span>"), "{page}");
}

//! The daemon run in-process, as integration code can: a dev-mode folder
//! source, a listener on port 0 (no free-port race), a shutdown future.

use super::*;
use clap::Parser;

/// `tend run`'s flags, parsed as the CLI parses them.
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    options: Options,
}

/// `tend run --source SOURCE --data DATA EXTRA…` as options, and a
/// listener on port 0.
async fn started(
    source: &std::path::Path,
    data: &std::path::Path,
    extra: &[&str],
) -> (Options, tokio::net::TcpListener) {
    let (source, data) = (source.to_str().unwrap(), data.to_str().unwrap());
    let mut args = vec!["tend", "--source", source, "--data", data];
    args.extend(extra);
    let options = Cli::try_parse_from(args).unwrap().options;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (options, listener)
}

/// `GET path` on `addr`: the status code and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let url = format!("http://{addr}{path}");
    let client = crate::alert::client().unwrap();
    let answer = client.get(&url).send().await.expect("the daemon answers");
    let status = answer.status().as_u16();
    (status, answer.text().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_in_process_on_port_zero_and_stops_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(repo.join("jobs")).unwrap();
    std::fs::write(repo.join("tend.toml"), "[reconcile]\ninterval = \"5m\"\n").unwrap();
    let data = dir.path().join("data");
    let (options, listener) = started(&repo, &data, &[]).await;
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(run(options, listener, async move {
        let _ = stopped.await;
    }));
    assert_eq!(get(addr, "/healthz").await, (200, "ok\n".into()));
    let mut applied = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, body) = get(addr, "/api/v1/status").await;
        applied =
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["source"]["applied_commit"]
                .clone();
        if applied.is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(applied.is_string(), "the folder is applied: {applied}");
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(20), daemon).await;
    assert!(matches!(ended, Ok(Ok(Ok(())))), "{ended:?}");
    assert!(data.join("tend.redb").is_file());
}

#[tokio::test]
async fn an_empty_secret_file_stops_the_start_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hook.secret");
    std::fs::write(&secret, "\n").unwrap();
    let data = dir.path().join("data");
    let flag = ["--webhook-secret-file", secret.to_str().unwrap()];
    let (options, listener) = started(dir.path(), &data, &flag).await;
    let err = run(options, listener, std::future::pending())
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("hook.secret") && text.contains("empty"),
        "{text}"
    );
}

//! `tend history` and `tend trigger`: talk to a running tend over its HTTP
//! API (plain HTTP on loopback or behind the user's own proxy).

use anyhow::{Context, Result, bail};
use std::process::ExitCode;

/// Where the API is and how to authenticate.
#[derive(clap::Args)]
pub struct ApiArgs {
    /// Base URL of a running tend.
    #[arg(long, env = "TEND_API", default_value = "http://127.0.0.1:8080")]
    pub api: String,
}

fn request(base: &str, method: &str, path: &str, token: Option<&str>) -> Result<(u16, String)> {
    let host = base
        .strip_prefix("http://")
        .context("--api must be an http:// URL (put tend behind a proxy for TLS)")?
        .trim_end_matches('/');
    let auth = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
    let resp = tend::web::client::request(host, method, path, &headers, b"")?;
    Ok((resp.status, resp.body))
}

/// `tend history [--job J] [--limit N]`.
pub fn history(api: &ApiArgs, job: Option<&str>, limit: usize) -> Result<ExitCode> {
    let mut path = format!("/api/v1/runs?limit={limit}");
    if let Some(job) = job {
        path.push_str(&format!("&job={job}"));
    }
    let (status, body) = request(&api.api, "GET", &path, None)?;
    if status != 200 {
        bail!("tend answered {status}: {body}");
    }
    let page: serde_json::Value = serde_json::from_str(&body).context("reading runs")?;
    let mut text = format!(
        "{:>6}  {:<24} {:<9} {:<12} {:<20} {:>9}  {}\n",
        "RUN", "JOB", "TRIGGER", "STATUS", "STARTED (UTC)", "DURATION", "EXIT / REASON"
    );
    for run in page["runs"].as_array().into_iter().flatten() {
        let time = |k: &str| {
            run[k]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        };
        let started = time("started_at").or(time("finished_at"));
        let duration = match (time("started_at"), time("finished_at")) {
            (Some(a), Some(b)) => format!("{:.1}s", (b - a).num_milliseconds() as f64 / 1000.0),
            (Some(_), None) => "running".into(),
            (None, None) if run["status"] == "waiting" => "waiting".into(),
            _ => "-".into(),
        };
        let exit = run["exit_code"]
            .as_i64()
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into());
        let reason = run["reason"]
            .as_str()
            .map(|r| format!(" {r}"))
            .unwrap_or_default();
        text += &format!(
            "{:>6}  {:<24} {:<9} {:<12} {:<20} {:>9}  {exit}{reason}\n",
            run["id"],
            run["job"].as_str().unwrap_or("?"),
            run["trigger"].as_str().unwrap_or("?"),
            run["status"].as_str().unwrap_or("?"),
            started
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
            duration,
        );
    }
    Ok(super::out(&text, ExitCode::SUCCESS))
}

/// `tend trigger JOB`: asks the running tend to run a job now.
pub fn trigger(api: &ApiArgs, job: &str, token_file: &std::path::Path) -> Result<ExitCode> {
    let token = std::fs::read_to_string(token_file)
        .with_context(|| format!("reading {}", token_file.display()))?;
    let (status, body) = request(
        &api.api,
        "POST",
        &format!("/api/v1/jobs/{job}/run"),
        Some(token.trim()),
    )?;
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    match status {
        202 => Ok(super::out(
            &format!("started run {} of {job}\n", value["run"]),
            ExitCode::SUCCESS,
        )),
        _ => bail!(
            "tend answered {status}: {}",
            value["error"].as_str().unwrap_or(&body)
        ),
    }
}

/// `tend healthcheck`: exit 0 when the daemon listening on `listen` answers
/// `/healthz` with 200, else 1 — for a container's `HEALTHCHECK` (the image
/// has no curl). A wildcard address is asked on loopback.
pub fn healthcheck(listen: &str) -> Result<ExitCode> {
    let addr = listen
        .replace("0.0.0.0:", "127.0.0.1:")
        .replace("[::]:", "[::1]:");
    match request(&format!("http://{addr}"), "GET", "/healthz", None) {
        Ok((200, _)) => Ok(ExitCode::SUCCESS),
        Ok((status, body)) => {
            eprintln!("unhealthy: /healthz answered {status}: {}", body.trim());
            Ok(ExitCode::from(1))
        }
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            Ok(ExitCode::from(1))
        }
    }
}

//! `tend history` and `tend trigger`: talk to a running tend over its HTTP
//! API (a minimal HTTP/1.1 client; the API is plain HTTP on loopback or
//! behind the user's own proxy).

use anyhow::{Context, Result, bail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

/// Where the API is and how to authenticate.
#[derive(clap::Args)]
pub struct ApiArgs {
    /// Base URL of a running tend.
    #[arg(long, env = "TEND_API", default_value = "http://127.0.0.1:8080")]
    pub api: String,
}

fn request(base: &str, method: &str, path: &str, token: Option<&str>) -> Result<(u16, String)> {
    let rest = base
        .strip_prefix("http://")
        .context("--api must be an http:// URL (put tend behind a proxy for TLS)")?;
    let host = rest.trim_end_matches('/');
    let mut stream =
        TcpStream::connect(host).with_context(|| format!("connecting to tend at {base}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n{auth}\r\n"
    );
    stream.write_all(head.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("malformed HTTP status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
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

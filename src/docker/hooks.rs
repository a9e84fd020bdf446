//! Running a service's lifecycle hooks inside its container through the
//! engine's exec API: each command in turn, its output kept for the apply
//! log, a non-zero exit (or no exit within [`HOOK_LIMIT`]) an error that
//! carries the output.
//!
//! `post_start` hooks run after a container starts and a failure fails its
//! change (the container stays up); `pre_stop` hooks
//! run before a stop or a replacement and a failure is only logged, since
//! a hook must never keep an old container alive. Hooks run as compose
//! runs them: `exec` in the container, with the hook's user, environment,
//! working directory and privilege.

use super::{DockerError, Engine};
use crate::model::Hook;
use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use futures_util::StreamExt;
use std::time::Duration;

/// Longest a hook may run (five minutes); a hook still running then fails
/// its change, and the exec is left to end on its own in the container.
pub const HOOK_LIMIT: Duration = Duration::from_secs(300);
/// Most output lines kept per hook (the newest): enough for a failing
/// hook's reason, bounded for a chatty one.
const KEEP_LINES: usize = 200;

/// Runs `hooks` (of kind `what`, for messages) in container `id`; returns
/// their output, each line prefixed with the hook's kind. The hooks run in
/// order; the first that fails ends the run with an error that carries
/// its output and exit code.
pub async fn run(
    e: &Engine,
    id: &str,
    what: &str,
    hooks: &[Hook],
) -> Result<Vec<String>, DockerError> {
    let mut log = Vec::new();
    for h in hooks {
        let (lines, code) = match tokio::time::timeout(HOOK_LIMIT, one(e, id, h)).await {
            Ok(done) => done?,
            Err(_) => (Vec::new(), None),
        };
        let shown = h.command.join(" ");
        log.extend(lines.iter().map(|l| format!("{what} `{shown}`: {l}")));
        match code {
            Some(0) => {}
            Some(code) => {
                let tail = lines[lines.len().saturating_sub(20)..].join("\n");
                return Err(DockerError::Api(format!(
                    "{what} hook `{shown}` exited with code {code}\n{tail}"
                )));
            }
            None => {
                let msg = format!(
                    "{what} hook `{shown}` did not finish within {}s",
                    HOOK_LIMIT.as_secs()
                );
                return Err(DockerError::Api(msg));
            }
        }
    }
    Ok(log)
}

/// One hook: its output lines and exit code. Runs as the hook's user (the
/// container's when unset), with the hook's environment, working directory
/// and privilege; only the last [`KEEP_LINES`] lines are kept.
async fn one(e: &Engine, id: &str, h: &Hook) -> Result<(Vec<String>, Option<i64>), DockerError> {
    let env: Vec<String> = h
        .environment
        .iter()
        .filter_map(|(k, v)| Some(format!("{k}={}", v.as_ref()?)))
        .collect();
    let config = ExecConfig {
        cmd: Some(h.command.clone()),
        user: h.user.clone(),
        privileged: Some(h.privileged),
        env: Some(env),
        working_dir: h.working_dir.clone(),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let exec = e.mutating().create_exec(id, config).await?;
    let mut lines = Vec::new();
    if let StartExecResults::Attached { mut output, .. } =
        e.mutating().start_exec(&exec.id, None).await?
    {
        let mut partial = String::new();
        while let Some(chunk) = output.next().await {
            let bytes = match chunk? {
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message } => message,
                LogOutput::StdIn { .. } => continue,
            };
            partial.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(i) = partial.find('\n') {
                lines.push(partial[..i].trim_end().to_owned());
                partial.drain(..=i);
            }
            if lines.len() > KEEP_LINES {
                lines.drain(..lines.len() - KEEP_LINES);
            }
        }
        if !partial.trim().is_empty() {
            lines.push(partial.trim_end().to_owned());
        }
    }
    let code = e.api().inspect_exec(&exec.id).await?.exit_code;
    Ok((lines, code))
}

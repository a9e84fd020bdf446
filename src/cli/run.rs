//! `tend run`: parses the options, binds the listener, turns SIGINT and
//! SIGTERM into the daemon's shutdown and runs [`tend::daemon::run`].

use anyhow::{Context, Result};

/// Runs the daemon until a signal.
pub fn run(options: tend::daemon::Options) -> Result<std::process::ExitCode> {
    // libgit2 probes OpenSSL's certificate paths (mutating the environment)
    // on first use: do it now, before any thread exists.
    let _ = git2::Config::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let signals = signals()?;
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .with_context(|| format!("listening on {}", options.listen))?;
        tend::daemon::run(options, listener, signals).await?;
        Ok(std::process::ExitCode::SUCCESS)
    })
}

/// Completes on the first SIGTERM or SIGINT.
fn signals() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

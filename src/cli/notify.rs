//! `tend notify-test URL`: sends a test message to one notification URL and
//! prints what the service answered — for setting a `[[notify]]` rule up.
//! `${env:…}`/`${file:…}` in the URL are resolved and never printed.

use std::process::ExitCode;
use tend::alert::{self, Alert};
use tend::model::EventKind;

/// Sends the test message; exit 0 when the service answered 2xx, 1 when it
/// answered otherwise or not at all, 2 when the URL is not usable.
pub fn notify_test(url: &str) -> anyhow::Result<ExitCode> {
    let (resolved, _) = match tend::runner::expand(url) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let message = Alert {
        event: EventKind::Recovery,
        subject: "notify-test".into(),
        status: "works".into(),
        summary: format!(
            "A test message from tend on {}: this URL is set up.",
            tend::reconcile::notify::letters::hostname()
        ),
        host: None,
        commit: None,
        duration: None,
        log_tail: None,
        link: None,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer = runtime.block_on(async {
        let client = alert::client()?;
        alert::deliver(&client, &resolved, &message).await
    });
    let target = alert::redact(&resolved);
    match answer {
        Ok(d) => {
            println!("{target} → {}", d.status);
            if !d.body.trim().is_empty() {
                println!("{}", d.body.trim_end());
            }
            Ok(if d.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Err(e @ (alert::AlertError::Url(_) | alert::AlertError::Unsupported(_))) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

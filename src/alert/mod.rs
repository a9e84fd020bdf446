//! Notifications: what an alert says ([`Alert`]), how each service wants
//! it ([`request::build`]: Apprise URL → HTTP request with that service's
//! payload), sending it ([`send`]), and when a repeat is held back
//! ([`throttle`]). Sent natively over reqwest with
//! rustls — no Apprise sidecar.
//!
//! Every service can be pointed at another base URL with `?base=` (a
//! self-hosted instance or a test receiver): `discord://id/token?base=
//! http://127.0.0.1:9000` posts to `http://127.0.0.1:9000/api/webhooks/id/token`.

pub mod request;
mod send;
pub mod throttle;

pub use request::{Outgoing, build};
pub use send::{ATTEMPT_TIMEOUT, Delivered, client, redact, send};

use crate::model::EventKind;

/// Why an alert could not be built or delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// The URL does not parse or lacks a part.
    #[error("{0}")]
    Url(String),
    /// The service is known but not sent by this tend.
    #[error("`{0}://` is not supported for sending yet")]
    Unsupported(String),
    /// The request did not get an answer (refused, timed out, TLS).
    #[error("no answer from {url}: {cause}")]
    Transport {
        /// Where it went.
        url: String,
        /// What went wrong, with its causes.
        cause: String,
    },
}

/// Largest log tail carried by an alert before each service cuts it further.
pub const LOG_TAIL_BYTES: usize = 3000;

/// Something worth telling people about.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Which rule event it is.
    pub event: EventKind,
    /// The job or stack concerned.
    pub subject: String,
    /// `failed`, `succeeded`, `degraded`, …
    pub status: String,
    /// One line saying what happened.
    pub summary: String,
    /// Host (stack host, or the machine tend runs on).
    pub host: Option<String>,
    /// Short commit id and subject line.
    pub commit: Option<String>,
    /// Run duration in seconds.
    pub duration: Option<f64>,
    /// The last lines of the log, already redacted.
    pub log_tail: Option<String>,
    /// Link to the run or stack page (when `public_url` is set).
    pub link: Option<String>,
}

/// How an alert reads: good news, bad news, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A failure.
    Bad,
    /// A recovery.
    Good,
    /// Worth a look.
    Warn,
}

impl Alert {
    /// The tone of its event.
    pub fn tone(&self) -> Tone {
        match self.event {
            EventKind::Recovery => Tone::Good,
            EventKind::Drift | EventKind::Missed => Tone::Warn,
            _ => Tone::Bad,
        }
    }

    /// "tend: backup failed".
    pub fn title(&self) -> String {
        format!("tend: {} {}", self.subject, self.status)
    }

    /// The body as plain text: summary, facts, log tail, link; at most
    /// `limit` characters (the log tail is cut first, from its start).
    pub fn text(&self, limit: usize) -> String {
        let mut head = self.summary.clone();
        for (k, v) in self.facts() {
            head.push_str(&format!("\n{k}: {v}"));
        }
        if let Some(link) = &self.link {
            head.push_str(&format!("\n{link}"));
        }
        let Some(log) = self.log_tail.as_deref().filter(|l| !l.trim().is_empty()) else {
            return cut(&head, limit);
        };
        let room = limit.saturating_sub(head.chars().count() + 10);
        if room < 40 {
            return cut(&head, limit);
        }
        format!("{head}\n\n```\n{}\n```", tail(log.trim_end(), room))
    }

    /// Name/value facts: host, commit, duration.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(h) = &self.host {
            out.push(("host", h.clone()));
        }
        if let Some(c) = &self.commit {
            out.push(("commit", c.clone()));
        }
        if let Some(d) = self.duration {
            out.push(("duration", format!("{d:.1} s")));
        }
        out
    }
}

/// The first `limit` characters of `s`, with "…" when cut.
pub fn cut(s: &str, limit: usize) -> String {
    if s.chars().count() <= limit {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(limit.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The last `limit` characters of `s`, with "…" in front when cut.
pub fn tail(s: &str, limit: usize) -> String {
    let n = s.chars().count();
    if n <= limit {
        return s.to_owned();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(n - limit.saturating_sub(1)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_the_facts_and_cuts_the_log_from_its_start() {
        let alert = Alert {
            event: EventKind::Failure,
            subject: "backup".into(),
            status: "failed".into(),
            summary: "run 7 of backup failed (exit 2)".into(),
            host: Some("nas".into()),
            commit: Some("0123456 Bump".into()),
            duration: Some(1.25),
            log_tail: Some(format!("{}\nLAST LINE", "x".repeat(5000))),
            link: None,
        };
        let text = alert.text(300);
        assert!(text.chars().count() <= 300, "{}", text.len());
        assert!(
            text.starts_with(
                "run 7 of backup failed (exit 2)\nhost: nas\ncommit: 0123456 Bump\nduration: 1.2 s"
            ),
            "{text}"
        );
        assert!(text.ends_with("LAST LINE\n```"), "{text}");
        assert_eq!(alert.tone(), Tone::Bad);
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(tail("abcdef", 4), "…def");
    }
}

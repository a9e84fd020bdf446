//! What an alert says ([`Alert`]), what a rule is offered ([`Letter`]) and
//! what the outbox keeps until it is delivered ([`Notification`]). Pure
//! data and text shaping; the `alert` module turns an alert into each
//! service's request, the store keeps the outbox, `reconcile` delivers.

use super::EventKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Largest log tail carried by an alert before each service cuts it further.
pub const LOG_TAIL_BYTES: usize = 3000;

/// Something worth telling people about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// An alert offered to one rule: the store decides, in the transaction
/// that records its cause, whether the rule's throttle lets it out.
#[derive(Debug, Clone, PartialEq)]
pub struct Letter {
    /// Throttle key: the rule and the subject (`rule-url|job:backup`).
    pub key: String,
    /// Time between reminders of the same ongoing problem.
    pub repeat: chrono::Duration,
    /// The rule's URL, references unresolved.
    pub url: String,
    /// What to say.
    pub alert: Alert,
}

/// Where a queued notification stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Waiting for its (next) attempt.
    Pending,
    /// The service accepted it.
    Sent,
    /// Every attempt failed, or the service refused it for good.
    Failed,
}

/// One notification in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Outbox id, increasing.
    pub id: u64,
    /// The service (URL scheme: `discord`, `ntfys`, `json`, …).
    pub channel: String,
    /// The rule's URL, references unresolved; not shown (a literal token
    /// may be in it).
    pub url: String,
    /// What it says.
    pub alert: Alert,
    /// Where it stands.
    pub state: Delivery,
    /// Attempts made.
    pub attempts: u32,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the next attempt is due (pending only).
    pub next_at: DateTime<Utc>,
    /// When it was delivered or given up.
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
    /// HTTP status of the last answer.
    #[serde(default)]
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The URL without credentials and path (both hold tokens).
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?']).next().unwrap_or_default();
            let host = authority.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}/…")
        }
        None => "…".into(),
    }
}

/// Values for the tests of the modules that shape, queue and send alerts.
#[cfg(test)]
pub(crate) mod sample {
    use super::*;

    /// "run failed" about job `backup`.
    pub fn alert(event: EventKind) -> Alert {
        Alert {
            event,
            subject: "backup".into(),
            status: "failed".into(),
            summary: "run failed".into(),
            host: None,
            commit: None,
            duration: None,
            log_tail: None,
            link: None,
        }
    }

    /// A failure alert to `url`, queued at `at` and due then.
    pub fn queued(id: u64, url: &str, at: DateTime<Utc>) -> Notification {
        Notification {
            id,
            channel: "json".into(),
            url: url.into(),
            alert: alert(EventKind::Failure),
            state: Delivery::Pending,
            attempts: 0,
            created_at: at,
            next_at: at,
            done_at: None,
            last_status: None,
            last_error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_the_facts_and_cuts_the_log_from_its_start() {
        let alert = Alert {
            summary: "run 7 of backup failed (exit 2)".into(),
            host: Some("nas".into()),
            commit: Some("0123456 Bump".into()),
            duration: Some(1.25),
            log_tail: Some(format!("{}\nLAST LINE", "x".repeat(5000))),
            ..sample::alert(EventKind::Failure)
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

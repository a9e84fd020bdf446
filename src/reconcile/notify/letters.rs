//! What to tell whom: from a finished run or an audit event to the
//! [`Letter`]s offered to the notification rules of the commit in force (a
//! job's own `notify:` replaces the repository's). The store throttles and
//! queues them in the transaction that records their cause.
//!
//! Writing the letter with its cause is what keeps alerts across restarts:
//! a run's failure and its alert are one write, so either both are stored
//! or neither, and the delivery worker finds it after a crash. The rules
//! are read from the commit in force when the letter is made, so an alert
//! goes where the repository said at the time it happened.

use crate::model::throttle::DEFAULT_REPEAT;
use crate::model::{
    Alert, Applied, AuditKind, EventKind, Letter, NotifyRule, Run, RunStatus, Status, Trigger,
};
use std::sync::Arc;
use tokio::sync::watch;

/// Builds letters from the commit in force; cheap to clone.
#[derive(Clone)]
pub struct Letters {
    applied: watch::Receiver<Option<Arc<Applied>>>,
    status: Option<watch::Receiver<Status>>,
    host: String,
}

impl Letters {
    /// A mailer reading rules from `applied` and commit subjects from `status`.
    pub fn new(
        applied: watch::Receiver<Option<Arc<Applied>>>,
        status: Option<watch::Receiver<Status>>,
    ) -> Letters {
        Letters {
            applied,
            status,
            host: hostname(),
        }
    }

    /// The commit in force this reads its rules from.
    pub fn applied(&self) -> watch::Receiver<Option<Arc<Applied>>> {
        self.applied.clone()
    }

    /// Letters about a finished run: a failure on its last attempt, a
    /// recovery on success, and `missed` for a catch-up or a skipped
    /// fire time. `final_attempt` is false when a retry follows.
    pub fn run(&self, run: &Run, log_tail: &[u8], final_attempt: bool) -> Vec<Letter> {
        let Some(applied) = self.applied.borrow().clone() else {
            return Vec::new();
        };
        let desired = &applied.desired;
        let rules = desired
            .jobs
            .iter()
            .find(|j| j.name == run.job)
            .and_then(|j| j.notify.as_ref())
            .unwrap_or(&desired.notify);
        let status = crate::model::word(&run.status);
        let seconds = run.seconds();
        let mut events = Vec::new();
        match run.status {
            RunStatus::Failed | RunStatus::TimedOut if final_attempt => {
                let why = run.reason.as_deref().map(|r| format!(": {r}"));
                let exit = run.exit_code.map(|c| format!(" (exit {c})"));
                let summary = format!(
                    "run {} of {} {}{}{}",
                    run.id,
                    run.job,
                    status.replace('_', " "),
                    exit.unwrap_or_default(),
                    why.unwrap_or_default()
                );
                events.push((EventKind::Failure, summary));
            }
            RunStatus::Succeeded => {
                let summary = format!("{} succeeded again (run {})", run.job, run.id);
                events.push((EventKind::Recovery, summary));
            }
            _ => {}
        }
        if run.trigger == Trigger::CatchUp {
            let what = match run.status {
                RunStatus::Skipped => "was skipped",
                _ => "was caught up",
            };
            let reason = run
                .reason
                .as_deref()
                .unwrap_or("missed while tend was down");
            let summary = format!("a missed fire time of {} {what}: {reason}", run.job);
            events.push((EventKind::Missed, summary));
        }
        let tail = String::from_utf8_lossy(log_tail);
        let tail = crate::alert::tail(&tail, crate::alert::LOG_TAIL_BYTES);
        let base = desired.settings.public_url.as_deref();
        let mut out = Vec::new();
        for (event, summary) in events {
            let alert = Alert {
                event,
                subject: run.job.clone(),
                status: status.clone(),
                summary,
                host: Some(self.host.clone()),
                commit: self.commit(run.commit.as_deref()),
                duration: seconds,
                log_tail: (event == EventKind::Failure && !tail.trim().is_empty())
                    .then(|| tail.clone()),
                link: base.map(|b| format!("{b}/runs/{}", run.id)),
            };
            out.extend(offer(rules, &format!("job:{}", run.job), alert));
        }
        out
    }

    /// Letters about an audit event concerning `stack` (or, without one,
    /// the repository as a whole). Events no rule can ask for give none.
    pub fn event(
        &self,
        kind: AuditKind,
        stack: Option<&str>,
        commit: Option<&str>,
        reason: &str,
    ) -> Vec<Letter> {
        let (event, status) = match kind {
            AuditKind::ConfigError => (EventKind::ConfigError, "rejected"),
            AuditKind::CommitApplied => (EventKind::Recovery, "applied"),
            AuditKind::Drift => (EventKind::Drift, "drifted"),
            AuditKind::ApplyFailed => (EventKind::ApplyFailed, "apply failed"),
            AuditKind::Degraded => (EventKind::Degraded, "degraded"),
            AuditKind::StackRecovered => (EventKind::Recovery, "in sync"),
            _ => return Vec::new(),
        };
        let Some(applied) = self.applied.borrow().clone() else {
            return Vec::new();
        };
        let desired = &applied.desired;
        let (subject, key, link) = match stack {
            Some(name) => {
                // A degraded stack recovers when it is in sync again; drift
                // and failed applies are streaks of their own (a heal that
                // works after one that failed is no news).
                let key = match event {
                    EventKind::Drift => format!("drift:{name}"),
                    EventKind::ApplyFailed => format!("apply:{name}"),
                    _ => format!("stack:{name}"),
                };
                (format!("stack {name}"), key, format!("/stacks/{name}"))
            }
            None => ("config".to_owned(), "config".to_owned(), "/events".into()),
        };
        let alert = Alert {
            event,
            subject,
            status: status.to_owned(),
            summary: reason.to_owned(),
            host: Some(self.host.clone()),
            commit: self.commit(commit),
            duration: None,
            log_tail: None,
            link: desired
                .settings
                .public_url
                .as_ref()
                .map(|b| b.clone() + &link),
        };
        offer(&desired.notify, &key, alert)
    }

    /// "0123456 Subject line" for the applied commit, else the short id
    /// (another commit's subject is not known without reading git).
    fn commit(&self, commit: Option<&str>) -> Option<String> {
        let commit = commit.filter(|c| !c.is_empty())?;
        let short: String = commit.chars().take(7).collect();
        let subject = self.status.as_ref().and_then(|s| {
            let s = s.borrow();
            (s.source.applied_commit.as_deref() == Some(commit))
                .then(|| s.source.applied_summary.clone())
                .flatten()
        });
        Some(match subject {
            Some(line) => format!("{short} {line}"),
            None => short,
        })
    }
}

/// One letter per rule that asks for the event. A recovery is only let
/// out by a rule whose throttle saw the problem, so a rule hears "fixed"
/// only about what it was told was broken.
fn offer(rules: &[NotifyRule], subject_key: &str, alert: Alert) -> Vec<Letter> {
    rules
        .iter()
        .filter(|r| r.on.contains(&alert.event))
        .map(|r| Letter {
            key: format!("{}|{subject_key}", r.url),
            repeat: chrono::Duration::from_std(r.repeat).unwrap_or(DEFAULT_REPEAT),
            url: r.url.clone(),
            alert: alert.clone(),
        })
        .collect()
}

/// The name of this machine, for the `host` fact of job alerts (`localhost`
/// when the system does not say).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

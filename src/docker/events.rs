//! The engine's events stream, narrowed to what can make a managed stack
//! drift: a managed container died, stopped, was removed, paused, renamed,
//! or changed health. Each item is the stack (compose project) concerned.
//!
//! An event only asks for a pass; it decides nothing. A lost event is made
//! up for by the reconcile interval, and a repeated one costs one pass that
//! finds nothing to do.

use super::{DockerError, Engine};
use crate::model::labels;
use bollard::query_parameters::EventsOptions;
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;

/// Projects (stack names) of managed containers that had a drift-relevant
/// event, as they happen. Ends with an error when the connection drops;
/// the caller reopens it (events missed meanwhile are made up for by the
/// pass it then asks for).
///
/// The engine filters by type and `tend.managed` label, so a busy host's
/// other containers cost nothing here. Relevant actions are `die`, `stop`,
/// `destroy`, `pause`, `rename`, `oom` and health changes; starts and
/// creations are not (tend makes most of them itself; one made by hand is
/// seen on the next pass).
pub fn drift_events(e: &Engine) -> impl Stream<Item = Result<String, DockerError>> + use<> {
    let filters = HashMap::from([
        ("type".to_owned(), vec!["container".to_owned()]),
        (
            "label".to_owned(),
            vec![format!("{}=true", labels::MANAGED)],
        ),
    ]);
    let opts = EventsOptions {
        filters: Some(filters),
        ..Default::default()
    };
    e.long().events(Some(opts)).filter_map(|item| async move {
        match item {
            Err(err) => Some(Err(err.into())),
            Ok(ev) => {
                let action = ev.action.unwrap_or_default();
                let relevant = matches!(
                    action.as_str(),
                    "die" | "stop" | "destroy" | "pause" | "rename" | "oom"
                ) || action.starts_with("health_status");
                let project = ev
                    .actor
                    .and_then(|a| a.attributes)
                    .and_then(|a| a.get(labels::PROJECT).cloned());
                relevant.then_some(project).flatten().map(Ok)
            }
        }
    })
}

//! The engine's events stream, narrowed to what can make a managed stack
//! drift: a managed container died, stopped, was removed, paused, renamed,
//! or changed health.

use super::{DockerError, Engine};
use crate::model::labels;
use bollard::query_parameters::EventsOptions;
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;

/// Projects (stack names) of managed containers that had a drift-relevant
/// event, as they happen. Ends with an error when the connection drops.
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

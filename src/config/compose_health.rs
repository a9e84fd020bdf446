//! A service's `healthcheck` (a string test is `CMD-SHELL`, a list starts
//! with `CMD`, `CMD-SHELL` or `NONE`; `disable: true` is `NONE`) and the
//! duration fields compose writes as `1m30s`.

use super::at::{At, RawNode};
use super::compose_forms::{self as forms, Errs};
use super::node::Value;
use super::values::parse_duration;
use crate::model::Healthcheck;
use serde::Deserialize;

/// A `healthcheck` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSpec {
    pub(super) test: Option<RawNode>,
    interval: Option<At<String>>,
    timeout: Option<At<String>>,
    start_period: Option<At<String>>,
    /// Engine API 1.44+; accepted, not sent to 1.41 engines.
    #[serde(rename = "start_interval")]
    _start_interval: Option<At<String>>,
    retries: Option<u32>,
    disable: Option<bool>,
}

/// A duration field that may be absent; a bad value is reported.
pub(super) fn opt_duration(
    at: &Option<At<String>>,
    errs: &mut Errs,
) -> Option<std::time::Duration> {
    let at = at.as_ref()?;
    parse_duration(at).map_err(|e| errs.push((at.pos, e))).ok()
}

/// The healthcheck as the engine takes it; `None` when `test` is absent.
pub(super) fn healthcheck(h: &HealthSpec, errs: &mut Errs) -> Option<Healthcheck> {
    let test = if h.disable == Some(true) {
        vec!["NONE".to_owned()]
    } else {
        let node = &h.test.as_ref()?.0;
        match &node.value {
            Value::Str(s) => vec!["CMD-SHELL".to_owned(), s.clone()],
            _ => {
                let words = forms::words(node, errs)?;
                if !matches!(
                    words.first().map(String::as_str),
                    Some("CMD" | "CMD-SHELL" | "NONE")
                ) {
                    errs.push((
                        node.pos,
                        "a healthcheck test list starts with CMD, CMD-SHELL or NONE".into(),
                    ));
                }
                words
            }
        }
    };
    Some(Healthcheck {
        test,
        interval: opt_duration(&h.interval, errs),
        timeout: opt_duration(&h.timeout, errs),
        retries: h.retries,
        start_period: opt_duration(&h.start_period, errs),
    })
}

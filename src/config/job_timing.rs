//! When a job fires: its `schedule` or its one-off `at`, delayed by its
//! `jitter` — with the checks that read more than one key: `jitter` needs a
//! `schedule`, is never negative and never longer than the shortest time
//! between two fire times (runs would overtake each other); an `at` that
//! has passed with `missed: skip` would never run. `spread` then gives the
//! jobs of one jitter window their evenly spread offsets.

use super::raw::JobSpec;
use super::{At, Ctx};
use crate::model::{Job, Missed, humantime};
use crate::schedule::Schedule;
use chrono_tz::Tz;

/// Fire times looked at for the shortest gap of a schedule.
const GAP_SAMPLE: usize = 200;

/// The job's schedule: `Some(None)` for a job without one (manual,
/// `after`), `None` when it is invalid (errors reported).
pub(super) fn schedule(
    cx: &mut Ctx,
    rel: &str,
    spec: &JobSpec,
    tz: Option<Tz>,
    missed: Missed,
) -> Option<Option<Schedule>> {
    let jitter = jitter(cx, rel, spec);
    match (&spec.schedule, tz) {
        _ if spec.at.is_some() => one_off(cx, rel, spec, tz, missed),
        (Some(at), Some(tz)) => {
            let schedule = cx.schedule(rel, at, tz)?;
            let Some((window, pos)) = jitter? else {
                return Some(Some(schedule));
            };
            if let Some(gap) = schedule.shortest_gap(cx.now, GAP_SAMPLE)
                && window > gap
            {
                let msg = format!(
                    "`jitter` {} is longer than the shortest time between two fire times of `{}` ({}): runs would overtake each other; use at most {}",
                    humantime(window),
                    schedule.expr(),
                    humantime(gap),
                    humantime(gap)
                );
                cx.error(rel, pos, msg);
                return None;
            }
            Some(Some(schedule.with_jitter(window)))
        }
        (Some(_), None) => None,
        (None, _) => Some(None),
    }
}

/// `jitter`: `Some(None)` without one, `None` when it is invalid.
fn jitter(
    cx: &mut Ctx,
    rel: &str,
    spec: &JobSpec,
) -> Option<Option<(std::time::Duration, super::node::Pos)>> {
    let Some(at) = &spec.jitter else {
        return Some(None);
    };
    if spec.schedule.is_none() {
        cx.error(rel, at.pos, "`jitter` needs a `schedule`");
        return None;
    }
    if at.value.trim_start().starts_with('-') {
        let msg = format!(
            "`jitter` cannot be negative (`{}`): it delays each fire time by up to this much, e.g. `10m`",
            at.value
        );
        cx.error(rel, at.pos, msg);
        return None;
    }
    Some(Some((cx.duration(rel, at)?, at.pos)))
}

/// `at`: a one-off run (not with `schedule`); one that has passed by now
/// with `missed: skip` is refused, as it would never run.
fn one_off(
    cx: &mut Ctx,
    rel: &str,
    spec: &JobSpec,
    tz: Option<Tz>,
    missed: Missed,
) -> Option<Option<Schedule>> {
    let at: &At<String> = spec.at.as_ref()?;
    if spec.schedule.is_some() {
        cx.error(rel, at.pos, "set `schedule` or `at`, not both");
        return None;
    }
    let schedule = match Schedule::once(at, tz?) {
        Ok(s) => s,
        Err(e) => {
            cx.error(rel, at.pos, e.to_string());
            return None;
        }
    };
    let instant = schedule.once_at()?;
    if instant <= cx.now && missed == Missed::Skip {
        let msg = format!(
            "`at` {} has passed and `missed: skip` never runs a missed time, so this job would never run: set a later time, or `missed: run-once` to run it now",
            instant.with_timezone(&schedule.timezone()).to_rfc3339()
        );
        cx.error(rel, at.pos, msg);
        return None;
    }
    Some(Some(schedule))
}

/// Gives every jittered job its offset, spread evenly among the jobs of
/// its window ([`crate::schedule::spread`]).
pub(super) fn spread(jobs: &mut [Job]) {
    let windows: Vec<(&str, std::time::Duration)> = jobs
        .iter()
        .map(|j| {
            let w = j
                .schedule
                .as_ref()
                .map(Schedule::jitter)
                .unwrap_or_default();
            (j.name.as_str(), w)
        })
        .collect();
    let offsets = crate::schedule::spread(&windows);
    for (job, offset) in jobs.iter_mut().zip(offsets) {
        if let Some(s) = job.schedule.take() {
            job.schedule = Some(s.with_offset(offset));
        }
    }
}

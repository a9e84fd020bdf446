//! What a stacks pass does about drift (a change outside tend): with
//! `self_heal` off it is told once while it lasts and left alone; with it
//! on, it is healed while the brake allows, and a stack that drifts too
//! often is held and told degraded until the next commit or interval.
//! Pure: the brake, what was told and `now` come in, decisions go out.

use super::brake::Brake;
use crate::model::{Plan, StackPlan};
use std::collections::BTreeSet;
use std::time::Instant;

/// One stack's drift, decided. A stack with drift gets at most one
/// decision per pass; a stack without drift gets none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Heal it: its drift changes are applied.
    Heal(String),
    /// Tell it (self-heal is off): stack, first drift reason.
    Tell(String, String),
    /// The brake tripped on this pass: stack, why, the drift that tripped it.
    Degraded(String, String, String),
}

/// Decides each drifting stack of `plan`; `told` holds the drifts told
/// already (stack and reason), kept while they last.
pub fn decide(
    plan: &Plan,
    self_heal: bool,
    brake: &mut Brake,
    told: &mut BTreeSet<String>,
    now: Instant,
) -> Vec<Decision> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for sp in plan.stacks.iter().filter(|s| drifting(s)) {
        let first = sp
            .changes
            .iter()
            .find(|c| c.drift)
            .map(|c| c.reason.clone())
            .unwrap_or_default();
        if !self_heal {
            let key = format!("{}:{first}", sp.stack);
            seen.insert(key.clone());
            if told.insert(key) {
                out.push(Decision::Tell(sp.stack.clone(), first));
            }
        } else if brake.tripped(&sp.stack) {
            // Held by the brake until the next commit or interval.
        } else if let Err(why) = brake.heal(&sp.stack, now) {
            out.push(Decision::Degraded(sp.stack.clone(), why.0, first));
        } else {
            out.push(Decision::Heal(sp.stack.clone()));
        }
    }
    // Drift is told once while it lasts, and again if it comes back.
    told.retain(|k| seen.contains(k));
    out
}

/// Whether the stack's plan holds drift (a change caused outside tend,
/// not by a commit).
fn drifting(sp: &StackPlan) -> bool {
    sp.changes.iter().any(|c| c.drift)
}

/// The stacks `decisions` lets heal: their drift changes are applied on
/// this pass; every other stack's drift changes are left out.
pub fn healed(decisions: &[Decision]) -> BTreeSet<String> {
    decisions
        .iter()
        .filter_map(|d| match d {
            Decision::Heal(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::brake::{HEAL_LIMIT, HEAL_WINDOW};
    use super::*;
    use crate::model::{Action, Change};
    use std::time::Duration;

    fn plan(drifting: &[&str], why: &str) -> Plan {
        let stacks = drifting
            .iter()
            .map(|s| StackPlan {
                stack: (*s).into(),
                host: "local".into(),
                desired_state: "running".into(),
                changes: vec![Change::new(Action::Start, "app", why.into(), true)],
                error: None,
                failing: Vec::new(),
                leftover: false,
                held: Vec::new(),
            })
            .collect();
        Plan { stacks }
    }

    #[test]
    fn heals_until_the_brake_trips_then_holds_until_released() {
        let (mut brake, mut told, t0) = (Brake::default(), BTreeSet::new(), Instant::now());
        let p = plan(&["web", "db"], "app exited");
        for i in 0..HEAL_LIMIT as u64 {
            let d = decide(&p, true, &mut brake, &mut told, t0 + Duration::from_secs(i));
            assert_eq!(healed(&d), BTreeSet::from(["db".into(), "web".into()]));
        }
        let d = decide(
            &plan(&["web"], "app exited"),
            true,
            &mut brake,
            &mut told,
            t0,
        );
        assert!(
            matches!(&d[..], [Decision::Degraded(s, why, first)]
                if s == "web" && why.contains("self-heal gave up") && first == "app exited"),
            "{d:?}"
        );
        // web is held without a word; db's sixth heal trips its own brake.
        let next = decide(
            &p,
            true,
            &mut brake,
            &mut told,
            t0 + Duration::from_secs(30),
        );
        assert!(
            matches!(&next[..], [Decision::Degraded(s, ..)] if s == "db"),
            "{next:?}"
        );
        let held = decide(
            &p,
            true,
            &mut brake,
            &mut told,
            t0 + Duration::from_secs(31),
        );
        assert_eq!(held, [], "both held until released");
        // Released by a new commit or the interval (the controller resets).
        brake.reset();
        let later = t0 + HEAL_WINDOW;
        let d = decide(&p, true, &mut brake, &mut told, later);
        assert_eq!(healed(&d).len(), 2);
    }

    #[test]
    fn heals_spread_over_the_window_never_trip() {
        let (mut brake, mut told, t0) = (Brake::default(), BTreeSet::new(), Instant::now());
        let p = plan(&["web"], "app exited");
        let step = HEAL_WINDOW / HEAL_LIMIT as u32 + Duration::from_secs(1);
        for i in 0..(3 * HEAL_LIMIT as u32) {
            let d = decide(&p, true, &mut brake, &mut told, t0 + step * i);
            assert_eq!(d, [Decision::Heal("web".into())], "heal {i}");
        }
    }

    #[test]
    fn with_self_heal_off_drift_is_told_once_while_it_lasts() {
        let (mut brake, mut told, now) = (Brake::default(), BTreeSet::new(), Instant::now());
        let p = plan(&["web"], "app exited");
        let tell = vec![Decision::Tell("web".into(), "app exited".into())];
        assert_eq!(decide(&p, false, &mut brake, &mut told, now), tell);
        assert_eq!(decide(&p, false, &mut brake, &mut told, now), []);
        assert_eq!(
            decide(&plan(&[], ""), false, &mut brake, &mut told, now),
            []
        );
        assert_eq!(
            decide(&p, false, &mut brake, &mut told, now),
            tell,
            "it came back"
        );
        assert!(!brake.tripped("web"), "nothing healed, nothing counted");
    }
}

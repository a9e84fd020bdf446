//! Planner cases with plain values: in sync, commit changes, drift, sleep,
//! holds, leftovers.

use super::render::render;
use super::*;
use crate::model::{Service, SleepWindow, Stack, StackState};
use crate::schedule::Schedule;
use chrono::TimeZone;
use std::path::Path;

fn stack(name: &str, images: &[(&str, &str)]) -> Stack {
    Stack {
        name: name.into(),
        host: "local".into(),
        state: StackState::Running,
        sleep: None,
        services: images
            .iter()
            .map(|(s, i)| {
                let svc = Service {
                    image: (*i).into(),
                    restart: "no".into(),
                    ..Service::default()
                };
                ((*s).into(), svc)
            })
            .collect(),
        networks: BTreeMap::new(),
        volumes: BTreeMap::new(),
        file: format!("stacks/{name}/compose.yaml").into(),
        host_owned: Vec::new(),
        remove_data: false,
        secrets: Default::default(),
    }
}

fn target(s: &Stack) -> Target {
    render(
        s,
        Path::new("/r"),
        &crate::model::secret::Sources {
            env: &|_| None,
            read: &|_| Err("none".into()),
            sops: &|_, _| Err("none".into()),
        },
        &|s, rel| {
            let dir = Path::new("/r").join(s.file.parent().unwrap_or(Path::new("")));
            Ok(crate::plan::render::Bound {
                mount: crate::plan::render::BoundAs::Path(dir.join(rel)),
                files: None,
            })
        },
    )
}

/// A host on which `t` runs exactly as rendered.
fn in_sync(t: &Target) -> HostState {
    let mut h = HostState::default();
    for (name, s) in &t.services {
        let c = s.as_running(&t.name, name);
        h.images.insert(s.spec.image.clone(), c.image_id.clone());
        h.containers.push(c);
    }
    h.networks.push(NetworkSeen {
        id: "net1".into(),
        name: format!("{}_default", t.name),
        project: t.name.clone(),
        managed: true,
    });
    h
}

fn run(targets: &[Target], host: HostState, now: DateTime<Utc>, holds: &Holds) -> Plan {
    let deployed = BTreeSet::from([("web".to_owned(), "app".to_owned())]);
    let cx = Context {
        commit: "abcdef0123",
        prune: true,
        now,
        holds,
        deployed: &deployed,
        heal: Heal::All,
    };
    plan(
        targets,
        &BTreeMap::from([("local".to_owned(), Ok(host))]),
        &cx,
    )
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn actions(p: &Plan) -> Vec<(Action, String, String)> {
    p.stacks
        .iter()
        .flat_map(|s| &s.changes)
        .map(|c| (c.action, c.target.clone(), c.reason.clone()))
        .collect()
}

#[test]
fn in_sync_is_empty_and_fresh_stack_is_created() {
    let t = target(&stack("web", &[("app", "x:1"), ("db", "y:1")]));
    let p = run(std::slice::from_ref(&t), in_sync(&t), now(), &Holds::new());
    assert!(p.is_empty(), "{p}");
    assert_eq!(p.stacks[0].sync(), Sync::Synced);
    let fresh = target(&stack("shop", &[("app", "x:1")]));
    let p = run(&[fresh], HostState::default(), now(), &Holds::new());
    let a = actions(&p);
    assert_eq!(a[0].0, Action::CreateNetwork);
    assert_eq!(
        a[1],
        (
            Action::Create,
            "app".into(),
            "new stack (commit abcdef0)".into()
        )
    );
}

#[test]
fn image_change_recreates_with_reason() {
    let old = target(&stack("web", &[("app", "x:1")]));
    let new = target(&stack("web", &[("app", "x:2")]));
    let p = run(&[new], in_sync(&old), now(), &Holds::new());
    assert_eq!(
        actions(&p),
        [(
            Action::Recreate,
            "app".into(),
            "new commit abcdef0: image x:1 → x:2".into()
        )]
    );
}

#[test]
fn drift_is_named() {
    let t = target(&stack("web", &[("app", "x:1"), ("db", "y:1")]));
    let mut h = in_sync(&t);
    h.containers[0].state = RunState::Exited;
    h.containers[0].exit_code = Some(137);
    h.containers[1].name = "renamed".into();
    let a = actions(&run(std::slice::from_ref(&t), h, now(), &Holds::new()));
    assert_eq!(
        a[0],
        (
            Action::Start,
            "app".into(),
            "drift: container stopped outside tend".into()
        )
    );
    assert_eq!(a[1].0, Action::Rename);
    let mut h = in_sync(&t);
    h.containers.retain(|c| c.service != "app");
    let p = run(std::slice::from_ref(&t), h, now(), &Holds::new());
    assert_eq!(
        p.stacks[0].changes[0].reason,
        "drift: container removed outside tend"
    );
    assert!(p.stacks[0].changes[0].drift);
}

#[test]
fn completed_one_shot_is_left_alone_but_a_crash_is_failing() {
    let t = target(&stack("web", &[("app", "x:1")]));
    let mut h = in_sync(&t);
    h.containers[0].state = RunState::Exited;
    h.containers[0].exit_code = Some(0);
    assert!(run(std::slice::from_ref(&t), h.clone(), now(), &Holds::new()).is_empty());
    h.containers[0].exit_code = Some(3);
    let p = run(&[t], h, now(), &Holds::new());
    assert_eq!(
        p.stacks[0].changes[0].reason,
        "drift: container exited with code 3"
    );
    assert_eq!(p.stacks[0].failing, ["app"]);
}

#[test]
fn sleep_window_stops_and_wakes() {
    let mut s = stack("web", &[("app", "x:1")]);
    let tz = chrono_tz::UTC;
    s.sleep = Some(SleepWindow {
        from: Schedule::parse("0 1 * * *", tz, now()).unwrap(),
        to: Schedule::parse("0 7 * * *", tz, now()).unwrap(),
    });
    let t = target(&s);
    let night = Utc.with_ymd_and_hms(2026, 6, 1, 3, 0, 0).unwrap();
    let p = run(std::slice::from_ref(&t), in_sync(&t), night, &Holds::new());
    assert_eq!(p.stacks[0].desired_state, "sleeping");
    assert_eq!(actions(&p)[0].0, Action::Stop);
    assert!(actions(&p)[0].2.starts_with("sleep window"));
    assert!(run(std::slice::from_ref(&t), in_sync(&t), now(), &Holds::new()).is_empty());
    assert_eq!(
        next_wake(&[t], night),
        Some(Utc.with_ymd_and_hms(2026, 6, 1, 7, 0, 0).unwrap())
    );
}

#[test]
fn holds_keep_services_stopped() {
    let t = target(&stack("web", &[("app", "x:1")]));
    let mut h = in_sync(&t);
    h.containers[0].state = RunState::Exited;
    h.containers[0].exit_code = Some(143);
    let holds = Holds::from([(
        "web".to_owned(),
        BTreeMap::from([(
            "app".to_owned(),
            Hold {
                paused: false,
                by: "nightly-stop".into(),
            },
        )]),
    )]);
    assert!(run(std::slice::from_ref(&t), h, now(), &holds).is_empty());
}

#[test]
fn leftovers_are_pruned_and_absent_removes() {
    let old = target(&stack("gone", &[("app", "x:1")]));
    let p = run(&[], in_sync(&old), now(), &Holds::new());
    assert!(p.stacks[0].leftover);
    assert_eq!(
        actions(&p).iter().map(|a| a.0).collect::<Vec<_>>(),
        [Action::Remove, Action::RemoveNetwork]
    );
    let mut s = stack("gone", &[("app", "x:1")]);
    s.state = StackState::Absent;
    let p = run(&[target(&s)], in_sync(&old), now(), &Holds::new());
    assert_eq!(p.stacks[0].changes[0].reason, "x-tend.state is absent");
    assert_eq!(p.len(), 2);
}

#[test]
fn unknown_host_is_an_error_not_a_plan() {
    let t = target(&stack("web", &[("app", "x:1")]));
    let cx_holds = Holds::new();
    let deployed = BTreeSet::new();
    let cx = Context {
        commit: "c",
        prune: true,
        now: now(),
        holds: &cx_holds,
        deployed: &deployed,
        heal: Heal::All,
    };
    let refused = crate::model::Unobserved::Engine("connection refused".into());
    let hosts = BTreeMap::from([("local".to_owned(), Err(refused))]);
    let p = plan(&[t], &hosts, &cx);
    assert_eq!(p.stacks[0].sync(), Sync::Unknown);
    assert!(p.is_empty());
}

#[test]
fn drift_of_stacks_not_healed_is_held_apart_and_commit_changes_stay() {
    let t = target(&stack("web", &[("app", "x:1"), ("db", "y:1")]));
    let mut changed = t.clone();
    changed.services.get_mut("db").unwrap().hash = "new".into();
    let mut h = in_sync(&t);
    h.containers.retain(|c| c.service != "app");
    let deployed = BTreeSet::from([("web".to_owned(), "app".to_owned())]);
    let hosts = BTreeMap::from([("local".to_owned(), Ok(h))]);
    let (holds, healed) = (Holds::new(), BTreeSet::new());
    let cx = |heal| Context {
        commit: "abcdef0123",
        prune: true,
        now: now(),
        holds: &holds,
        deployed: &deployed,
        heal,
    };
    let all = plan(std::slice::from_ref(&changed), &hosts, &cx(Heal::All));
    let kinds = |cs: &[Change]| cs.iter().map(|c| (c.action, c.drift)).collect::<Vec<_>>();
    assert!(kinds(&all.stacks[0].changes).contains(&(Action::Create, true)));
    assert!(all.stacks[0].held.is_empty());
    let some = plan(
        std::slice::from_ref(&changed),
        &hosts,
        &cx(Heal::Only(&healed)),
    );
    let sp = &some.stacks[0];
    assert_eq!(
        kinds(&sp.held),
        [(Action::Create, true)],
        "the drift is held"
    );
    assert!(sp.changes.iter().all(|c| !c.drift), "{:?}", sp.changes);
    assert!(!sp.changes.is_empty(), "the commit's change stays");
    assert_eq!(sp.sync(), Sync::OutOfSync);
    let only_drift = plan(std::slice::from_ref(&t), &hosts, &cx(Heal::Only(&healed)));
    assert!(only_drift.stacks[0].changes.is_empty());
    assert_eq!(
        only_drift.stacks[0].sync(),
        Sync::OutOfSync,
        "held drift is not in sync"
    );
}

//! The planner at scale: 500 stacks × 4 services, planned against an
//! observed host where everything is in sync (the common case: a no-op),
//! and against one where every container runs an older config.
//! `cargo bench --bench plan`; figures go to docs/BENCHMARKS.md.

use chrono::Utc;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;
use tend::model::{Service, Stack, StackState};
use tend::plan::render::render_all;
use tend::plan::{Context, Heal, HostState, NetworkSeen, plan};

fn main() {
    let stacks: Vec<Stack> = (0..500)
        .map(|i| Stack {
            name: format!("stack-{i:03}"),
            host: "local".into(),
            state: StackState::Running,
            sleep: None,
            services: (0..4)
                .map(|j| {
                    let mut s = Service {
                        image: format!("registry.lan/app-{j}:1.{i}"),
                        restart: "unless-stopped".into(),
                        ..Service::default()
                    };
                    s.environment.insert("MODE".into(), Some(format!("m{j}")));
                    (format!("svc-{j}"), s)
                })
                .collect(),
            networks: BTreeMap::new(),
            volumes: BTreeMap::new(),
            file: format!("stacks/stack-{i:03}/compose.yaml").into(),
            host_owned: Vec::new(),
            remove_data: false,
            secrets: Default::default(),
        })
        .collect();
    let t = Instant::now();
    let targets = render_all(
        &stacks,
        Path::new("/r"),
        &tend::model::secret::Sources {
            env: &|_| None,
            read: &|_| Err("none".into()),
            sops: &|_, _| Err("none".into()),
        },
        &|s, rel| {
            let dir = Path::new("/r").join(s.file.parent().unwrap_or(Path::new("")));
            Ok(tend::plan::render::Bound {
                mount: tend::plan::render::BoundAs::Path(dir.join(rel)),
                files: None,
            })
        },
    );
    let render_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut host = HostState::default();
    for target in &targets {
        for (name, s) in &target.services {
            let c = s.as_running(&target.name, name);
            host.images.insert(s.spec.image.clone(), c.image_id.clone());
            host.containers.push(c);
        }
        host.networks.push(NetworkSeen {
            id: target.name.clone(),
            name: format!("{}_default", target.name),
            project: target.name.clone(),
            managed: true,
        });
    }
    let mut stale = host.clone();
    for c in &mut stale.containers {
        c.hash = "000000000000".into();
        c.parts.insert("environment".into(), "0".into());
    }
    let (holds, deployed) = (BTreeMap::new(), BTreeSet::new());
    let cx = Context {
        commit: "0123456789abcdef0123456789abcdef01234567",
        prune: true,
        now: Utc::now(),
        holds: &holds,
        deployed: &deployed,
        heal: Heal::All,
    };
    for (label, host, changes) in [("in sync", host, 0), ("every container stale", stale, 2000)] {
        let hosts = BTreeMap::from([("local".to_owned(), Ok(host))]);
        let mut times = Vec::new();
        for _ in 0..50 {
            let t = Instant::now();
            let p = plan(&targets, &hosts, &cx);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(p.len(), changes);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "plan, 500 stacks x 4 services, {label} ({changes} changes): median {:.2} ms, min {:.2}, max {:.2} (50 runs)",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1]
        );
    }
    println!("render (hash) of the same 500 stacks: {render_ms:.2} ms (once)");
}

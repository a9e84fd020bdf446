//! `jobs/*.yaml` → [`Job`]s: one kind per job, its paths inside the
//! repository, its schedule and time zone, its references to stacks and
//! services, and names unique across every file.

use super::raw::{JobSpec, JobsFile};
use super::repo::Want;
use super::stacks::Declared;
use super::{At, Ctx, values};
use crate::model::{Job, JobKind, PlaybookJob, Retries, Settings};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

/// Reads every job file and returns the jobs, sorted by name.
pub(super) fn load_all(cx: &mut Ctx, settings: &Settings, stacks: &Declared) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut seen: HashMap<String, (String, u32)> = HashMap::new();
    let mut chains: Vec<super::job_after::Entry> = Vec::new();
    for name in cx.repo.list("jobs") {
        if !(name.ends_with(".yaml") || name.ends_with(".yml")) {
            continue;
        }
        let rel = format!("jobs/{name}");
        let Some(node) = cx.yaml(&rel) else { continue };
        if node.value == super::node::Value::Null {
            continue;
        }
        let Some(file) = cx.typed::<JobsFile>(&rel, &node) else {
            continue;
        };
        for spec in &file.jobs {
            let job_name = &spec.name;
            if let Some((other, line)) = seen.get(&job_name.value) {
                let msg = format!(
                    "duplicate job name `{}` (also defined at {other}:{line})",
                    job_name.value
                );
                cx.error(&rel, job_name.pos, msg);
            } else {
                seen.insert(job_name.value.clone(), (rel.clone(), job_name.pos.line));
            }
            if let Some(after) = &spec.after {
                chains.push((rel.clone(), job_name.value.clone(), after.value.clone()));
            }
            if let Some(job) = build(cx, &rel, spec, settings, stacks) {
                jobs.push(job);
            }
        }
    }
    let names = seen.keys().cloned().collect();
    super::job_after::check(cx, &chains, &names);
    super::job_timing::spread(&mut jobs);
    jobs.sort_by(|a, b| a.name.cmp(&b.name));
    jobs
}

fn build(
    cx: &mut Ctx,
    rel: &str,
    spec: &At<JobSpec>,
    settings: &Settings,
    stacks: &Declared,
) -> Option<Job> {
    if let Err(e) = values::check_name("job", &spec.name) {
        cx.error(rel, spec.name.pos, e);
    }
    let tz = match &spec.timezone {
        Some(at) => cx.timezone(rel, at),
        None => Some(settings.timezone),
    };
    let missed = spec.missed.unwrap_or(settings.missed);
    let schedule = super::job_timing::schedule(cx, rel, spec, tz, missed);
    let lock = spec.lock.as_ref().and_then(|at| {
        values::check_name("lock", &at.value)
            .map_err(|e| cx.error(rel, at.pos, e))
            .ok()
            .map(|()| at.value.clone())
    });
    let duration = |cx: &mut Ctx, at: &Option<At<String>>, default: Duration| match at {
        Some(at) => cx.duration(rel, at),
        None => Some(default),
    };
    let timeout = duration(cx, &spec.timeout, settings.timeout);
    let missed_window = duration(cx, &spec.missed_window, settings.missed_window);
    let retries = match &spec.retries {
        Some(r) => duration(cx, &r.backoff, Duration::from_secs(30)).map(|backoff| Retries {
            count: r.count,
            backoff,
        }),
        None => Some(Retries::default()),
    };
    let env = env(cx, rel, spec);
    let env_file = spec.env_file.as_ref().and_then(|at| {
        let path = cx.path(rel, at, super::repo::Want::File)?;
        super::sealed::job_env_file(cx, &path);
        Some(path)
    });
    let kind = kind(cx, rel, spec, stacks);
    if let Some(JobKind::Playbook(p)) = &kind {
        super::vault::notice(cx, &spec.name.value, p);
    }
    Some(Job {
        name: spec.name.value.clone(),
        schedule: schedule?,
        kind: kind?,
        timeout: timeout?,
        concurrency: spec.concurrency.unwrap_or(settings.concurrency),
        missed,
        missed_window: missed_window?,
        retries: retries?,
        env,
        file: PathBuf::from(rel),
        notify: spec.notify.as_ref().map(|rules| {
            rules
                .iter()
                .map(|r| super::settings::rule(cx, rel, r))
                .collect()
        }),
        env_file,
        age_key: settings.age_key.clone(),
        after: spec
            .after
            .iter()
            .flat_map(|a| &a.value)
            .map(|a| a.value.clone())
            .collect(),
        lock,
    })
}

fn env(cx: &mut Ctx, rel: &str, spec: &JobSpec) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, value) in spec.env.iter().flatten() {
        if let Err(e) = values::check_env_name(name) {
            cx.error(rel, value.pos, e);
        }
        let text = At {
            pos: value.pos,
            clean: true,
            value: value.text(),
        };
        cx.references(rel, &text);
        out.insert(name.clone(), text.value);
    }
    out
}

/// The one kind a job declares, with the fields that only fit other kinds rejected.
fn kind(cx: &mut Ctx, rel: &str, spec: &At<JobSpec>, stacks: &Declared) -> Option<JobKind> {
    let declared: Vec<&str> = [
        spec.playbook.as_ref().map(|_| "playbook"),
        spec.command.as_ref().map(|_| "command"),
        spec.stack.as_ref().map(|_| "stack"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let misplaced = |cx: &mut Ctx, set: &[(&str, Option<super::node::Pos>)], kind: &str| {
        for (key, pos) in set {
            if let Some(pos) = pos {
                cx.error(rel, *pos, format!("`{key}` only applies to {kind} jobs"));
            }
        }
    };
    let playbook_only = [
        ("inventory", spec.inventory.as_ref().map(|a| a.pos)),
        ("limit", spec.limit.as_ref().map(|a| a.pos)),
        ("tags", spec.tags.as_ref().map(|a| a.pos)),
        ("vars", spec.vars.as_ref().map(|a| a.pos)),
        ("check", spec.check.as_ref().map(|a| a.pos)),
        (
            "vault_password",
            spec.vault_password.as_ref().map(|a| a.pos),
        ),
        ("vault_ids", spec.vault_ids.as_ref().map(|a| a.pos)),
    ];
    let stack_only = [
        ("action", spec.action.as_ref().map(|a| a.pos)),
        ("services", spec.services.as_ref().map(|a| a.pos)),
    ];
    match declared.as_slice() {
        ["playbook"] => {
            misplaced(cx, &stack_only, "stack");
            playbook(cx, rel, spec).map(JobKind::Playbook)
        }
        ["command"] => {
            misplaced(cx, &playbook_only, "playbook");
            misplaced(cx, &stack_only, "stack");
            command(cx, rel, spec.command.as_ref()?)
        }
        ["stack"] => {
            misplaced(cx, &playbook_only, "playbook");
            stack(cx, rel, spec, stacks)
        }
        [] if spec.clean => {
            let msg = format!(
                "job `{}` says nothing to run: set one of `playbook`, `command` or `stack`",
                spec.name.value
            );
            cx.error(rel, spec.pos, msg);
            None
        }
        [] => None,
        many => {
            let msg = format!(
                "job `{}` sets {}; a job runs exactly one of them",
                spec.name.value,
                many.join(" and ")
            );
            cx.error(rel, spec.pos, msg);
            None
        }
    }
}

fn playbook(cx: &mut Ctx, rel: &str, spec: &JobSpec) -> Option<PlaybookJob> {
    let playbook = cx.path(rel, spec.playbook.as_ref()?, Want::File);
    let inventory = match &spec.inventory {
        Some(at) => Some(cx.path(rel, at, Want::FileOrDir)?),
        None => None,
    };
    Some(PlaybookJob {
        playbook: playbook?,
        inventory,
        limit: spec.limit.as_ref().map(|a| a.value.clone()),
        tags: spec
            .tags
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default(),
        vars: spec
            .vars
            .as_ref()
            .map(|a| a.value.clone())
            .unwrap_or_default(),
        check: spec.check.as_ref().is_some_and(|a| a.value),
        vault_password: spec.vault_password.as_ref().map(|at| {
            cx.references(rel, at);
            at.value.clone()
        }),
        vault_ids: spec
            .vault_ids
            .iter()
            .flat_map(|ids| &ids.value)
            .map(|(label, at)| {
                cx.references(rel, at);
                if label.is_empty() || label.contains(['@', ' ', '/']) {
                    cx.error(
                        rel,
                        at.pos,
                        format!(
                            "vault id label `{label}` must not be empty or hold `@`, `/` or spaces"
                        ),
                    );
                }
                (label.clone(), at.value.clone())
            })
            .collect(),
    })
}

fn command(cx: &mut Ctx, rel: &str, argv: &At<Vec<String>>) -> Option<JobKind> {
    let Some(program) = argv.first() else {
        cx.error(
            rel,
            argv.pos,
            "`command` is empty: give the program and its arguments as a list",
        );
        return None;
    };
    if program.contains('/') {
        let at = At {
            pos: argv.pos,
            clean: true,
            value: program.clone(),
        };
        cx.path(rel, &at, Want::Executable)?;
    }
    Some(JobKind::Command {
        argv: argv.value.clone(),
    })
}

fn stack(cx: &mut Ctx, rel: &str, spec: &JobSpec, stacks: &Declared) -> Option<JobKind> {
    let name = spec.stack.as_ref()?;
    let Some(declared) = stacks.get(&name.value) else {
        let known: Vec<&str> = stacks.keys().map(String::as_str).collect();
        let msg = super::de::unknown_message("stack", name, &known);
        cx.error(
            rel,
            name.pos,
            format!("{msg} (stacks are the folders under stacks/)"),
        );
        return None;
    };
    let Some(action) = &spec.action else {
        let msg = "stack jobs need an `action`: start, stop, restart, pause, unpause or update";
        cx.error(rel, name.pos, msg);
        return None;
    };
    let mut services = Vec::new();
    for service in spec.services.iter().flat_map(|s| s.iter()) {
        if !declared.contains(&service.value) {
            let known: Vec<&str> = declared.iter().map(String::as_str).collect();
            let msg = super::de::unknown_message("service", service, &known);
            cx.error(rel, service.pos, format!("{msg} in stack `{}`", name.value));
        }
        services.push(service.value.clone());
    }
    Some(JobKind::Stack {
        stack: name.value.clone(),
        action: action.value,
        services,
    })
}

//! `after:` across job files: each name must be another job of the
//! repository, and the chains must not form a cycle (a job waiting, through
//! others, on itself would never run).

use super::{At, Ctx};
use std::collections::{BTreeMap, BTreeSet};

/// One job's `after` as written: its file, its name, the names it waits on.
pub(super) type Entry = (String, String, Vec<At<String>>);

/// Reports unknown names, self references and cycles in `entries`.
pub(super) fn check(cx: &mut Ctx, entries: &[Entry], names: &BTreeSet<String>) {
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (rel, job, after) in entries {
        for a in after {
            if a.value == *job {
                cx.error(rel, a.pos, format!("job `{job}` cannot run after itself"));
            } else if !names.contains(&a.value) {
                let known: Vec<&str> = names.iter().map(String::as_str).collect();
                let msg = super::de::unknown_message("job", a, &known);
                cx.error(rel, a.pos, format!("`after`: {msg}"));
            } else {
                edges.entry(job).or_default().push(&a.value);
            }
        }
    }
    for (rel, job, after) in entries {
        if let Some(path) = cycle_from(job, &edges) {
            let pos = after.first().map_or(super::node::Pos::START, |a| a.pos);
            let msg = format!("`after` forms a cycle: {}", path.join(" → "));
            cx.error(rel, pos, msg);
        }
    }
}

/// The path back to `start` through `edges`, if there is one.
fn cycle_from<'a>(start: &'a str, edges: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    let mut stack: Vec<(&str, Vec<&str>)> = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(at).into_iter().flatten() {
            if *next == start {
                let mut p = path.clone();
                p.push(start);
                return Some(p);
            }
            if seen.insert(*next) {
                let mut p = path.clone();
                p.push(next);
                stack.push((next, p));
            }
        }
    }
    None
}

//! SOPS-encrypted files of a stack as validation sees them: a `.env` or a
//! `secrets:`/`configs:` file that carries SOPS metadata is opened with the
//! host's age identities — a wrong key, a broken MAC or a truncated file is
//! an error at the file — and its plaintext dropped again. What goes on is
//! a reference per encrypted value (`${sops:FILE#NAME}`, `#` alone for the
//! whole file), which the stack's services carry as placeholders until the
//! stack is rendered on its host. Without an identity the file is checked
//! for shape only, with a note saying so.

use super::Ctx;
use super::node::Pos;
use crate::model::secret::placeholder;
use crate::sops::Sealed;
use std::collections::BTreeMap;

/// The reference an encrypted value travels as: `${sops:FILE#NAME}`.
pub fn reference(file: &str, name: &str) -> String {
    format!("${{sops:{file}#{name}}}")
}

/// The SOPS file `rel` (text `text`), checked and, with an identity,
/// opened once to prove the key and the MAC; `None` when it is not a SOPS
/// file or is broken (reported).
pub(super) fn check(cx: &mut Ctx, rel: &str, text: &str) -> Option<Result<Sealed, ()>> {
    let sealed = match crate::sops::detect(rel, text)? {
        Ok(s) => s,
        Err(e) => {
            cx.error(rel, Pos::START, format!("SOPS-encrypted file: {e}"));
            return Some(Err(()));
        }
    };
    if cx.keys.is_empty() {
        let recipients = sealed.recipients();
        let whom = if recipients.is_empty() {
            "no age recipient".to_owned()
        } else {
            format!("age recipients {}", recipients.join(", "))
        };
        cx.report.note(
            rel,
            Pos::START,
            format!("encrypted with SOPS ({whom}); not verified: no age identity"),
        );
        return Some(Ok(sealed));
    }
    match sealed.open(&cx.keys) {
        Ok(_) => Some(Ok(sealed)),
        Err(e) => {
            cx.error(rel, Pos::START, format!("SOPS-encrypted file: {e}"));
            Some(Err(()))
        }
    }
}

/// A SOPS `.env`: its plain values, and for each encrypted one a
/// placeholder value and its reference. `None` when `text` is no SOPS file.
pub(super) fn env_vars(
    cx: &mut Ctx,
    rel: &str,
    text: &str,
) -> Option<(BTreeMap<String, String>, BTreeMap<String, String>)> {
    let sealed = match check(cx, rel, text)? {
        Ok(s) => s,
        Err(()) => return Some(Default::default()),
    };
    let mut vars = BTreeMap::new();
    let mut refs = BTreeMap::new();
    for (name, plain) in sealed.visible() {
        match plain {
            Some(v) => {
                vars.insert(name, v);
            }
            None => {
                vars.insert(name.clone(), placeholder(&name));
                refs.insert(name.clone(), reference(rel, &name));
            }
        }
    }
    Some((vars, refs))
}

/// The top-level `secrets:`/`configs:` whose file (in the stack folder
/// `dir`) is SOPS-encrypted: by (`secrets`|`configs`, name), the
/// placeholder their content travels as; their references go into `refs`.
pub(super) fn file_sources(
    cx: &mut Ctx,
    dir: &str,
    spec: &super::compose::ComposeFile,
    refs: &mut BTreeMap<String, String>,
) -> BTreeMap<(&'static str, String), String> {
    let mut out = BTreeMap::new();
    let all = [("secrets", &spec.secrets), ("configs", &spec.configs)];
    for (kind, specs) in all {
        for (name, s) in specs {
            let Some(file) = s.value.file.as_ref().filter(|f| !f.value.starts_with('/')) else {
                continue;
            };
            let Some(rel) = crate::model::inside_folder(&format!("{dir}/{}", file.value)) else {
                continue;
            };
            if !cx.repo.exists(&rel) {
                continue;
            }
            let Ok(text) = cx.repo.read(&rel) else {
                continue;
            };
            if let Some(Ok(_)) = check(cx, &rel, &text) {
                let id = format!("{rel}#");
                refs.insert(id.clone(), reference(&rel, ""));
                out.insert((kind, name.clone()), placeholder(&id));
            }
        }
    }
    out
}

/// Checks each SOPS-encrypted `env_file` of `services` (opened once, as a
/// `.env` is), so that a wrong key or a broken file rejects the commit.
pub(super) fn env_files(cx: &mut Ctx, services: &BTreeMap<String, crate::model::Service>) {
    let mut seen = std::collections::BTreeSet::new();
    for f in services.values().flat_map(|s| &s.env_file) {
        let rel = f.path.to_string_lossy().into_owned();
        if !seen.insert(rel.clone()) || !cx.repo.exists(&rel) {
            continue;
        }
        if let Ok(text) = cx.repo.read(&rel) {
            check(cx, &rel, &text);
        }
    }
}

/// A job's `env_file`: a SOPS file is opened once (key and MAC), a plain
/// one must be dotenv.
pub(super) fn job_env_file(cx: &mut Ctx, path: &std::path::Path) {
    let rel = path.to_string_lossy().into_owned();
    let Some(text) = cx.text(&rel) else {
        return;
    };
    if check(cx, &rel, &text).is_none()
        && let Err((pos, message)) = super::dotenv::parse(&text)
    {
        cx.error(&rel, pos, message);
    }
}

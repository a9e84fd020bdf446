//! Compose interpolation, as the Compose Specification defines it:
//! `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
//! `${NAME:?message}`, `${NAME?message}`, `${NAME:+alt}`, `${NAME+alt}`,
//! nested in defaults, and `$$` for a literal `$` — in every value of a
//! file, never in keys. One deliberate deviation: a variable used without
//! a default and set nowhere is an error naming it (compose warns and
//! substitutes an empty string, which turns `${DATA}/config:/config` into a
//! bind of `/config`).

use super::node::{Node, Pos, Value};

/// Looks a variable up: `Some("")` is set and empty, `None` unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// Substitutes the variables of `text`; an error says what is wrong.
pub fn substitute(text: &str, vars: &Lookup) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = closing(body)
                .ok_or_else(|| format!("`${{{}` is not closed: a `}}` is missing", cut(body)))?;
            out.push_str(&braced(&body[..end], vars)?);
            rest = &body[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                return Err(format!(
                    "`${}`: a `$` starts a variable (`$NAME`, `${{NAME}}`); write `$$` for a literal `$`",
                    cut(after)
                ));
            }
            out.push_str(&required(&after[..len], vars)?);
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The first characters of `s`, for messages.
fn cut(s: &str) -> &str {
    let end = s.char_indices().nth(20).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// Length of a variable name at the start of `s`: `[_A-Za-z][_A-Za-z0-9]*`.
fn name_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first()
        .is_none_or(|c| !(c.is_ascii_alphabetic() || *c == b'_'))
    {
        return 0;
    }
    b.iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count()
}

/// Index of the `}` that closes a `${`, counting nested `${…}`.
fn closing(body: &str) -> Option<usize> {
    let b = body.as_bytes();
    let (mut depth, mut i) = (0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

fn required(name: &str, vars: &Lookup) -> Result<String, String> {
    vars(name).ok_or_else(|| {
        format!(
            "variable {name} is not set: set it in the stack's .env, in [vars] or \
             [hosts.NAME.vars] of tend.toml, or give a default (`${{{name}:-value}}`)"
        )
    })
}

/// The value of `${body}`.
fn braced(body: &str, vars: &Lookup) -> Result<String, String> {
    let len = name_len(body);
    let (name, op) = body.split_at(len);
    if len == 0 {
        return Err(format!("`${{{body}}}` does not start with a variable name"));
    }
    let value = vars(name);
    let set = value.is_some();
    let full = value.as_deref().is_some_and(|v| !v.is_empty());
    let word = |w: &str| substitute(w, vars);
    let ops: [(&str, u8); 6] = [
        (":-", 0),
        (":?", 1),
        (":+", 2),
        ("-", 3),
        ("?", 4),
        ("+", 5),
    ];
    if op.is_empty() {
        return required(name, vars);
    }
    let Some((arg, kind)) = ops
        .iter()
        .find_map(|(p, k)| op.strip_prefix(p).map(|a| (a, *k)))
    else {
        return Err(format!(
            "`${{{body}}}`: after the name comes `}}`, `:-`, `-`, `:?`, `?`, `:+` or `+`"
        ));
    };
    let missing = |arg: &str| -> Result<String, String> {
        let msg = word(arg)?;
        Err(if msg.is_empty() {
            format!("variable {name} is required")
        } else {
            format!("variable {name} is required: {msg}")
        })
    };
    match kind {
        0 if full => Ok(value.unwrap_or_default()),
        3 if set => Ok(value.unwrap_or_default()),
        0 | 3 => word(arg),
        1 if full => Ok(value.unwrap_or_default()),
        4 if set => Ok(value.unwrap_or_default()),
        1 | 4 => missing(arg),
        2 if full => word(arg),
        5 if set => word(arg),
        _ => Ok(String::new()),
    }
}

/// Substitutes in every string value of `node` (not in keys); problems go
/// to `errs` at the value they are about.
pub fn interpolate(node: &mut Node, vars: &Lookup, errs: &mut Vec<(Pos, String)>) {
    match &mut node.value {
        Value::Str(s) if s.contains('$') => match substitute(s, vars) {
            Ok(v) => *s = v,
            Err(e) => errs.push((node.pos, e)),
        },
        Value::Seq(items) => items.iter_mut().for_each(|n| interpolate(n, vars, errs)),
        Value::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, v)| interpolate(v, vars, errs)),
        _ => {}
    }
}

/// Host secrets (variables whose value is `${env:…}`/`${file:…}`) reach a
/// container only through its environment: a placeholder anywhere but in
/// `services.*.environment` values is an error at its place, naming the
/// variable.
pub fn check_secret_placement(root: &Node, errs: &mut Vec<(Pos, String)>) {
    fn walk(node: &Node, allowed: bool, errs: &mut Vec<(Pos, String)>) {
        match &node.value {
            Value::Str(s) if !allowed => {
                if let Some(var) = crate::model::secret::placeholders(s).first() {
                    errs.push((
                        node.pos,
                        format!(
                            "variable {var} holds a host secret (`${{env:…}}`/`${{file:…}}`); \
                             host secrets may be used only in `environment` values"
                        ),
                    ));
                }
            }
            Value::Seq(items) => items.iter().for_each(|n| walk(n, allowed, errs)),
            Value::Map(entries) => entries.iter().for_each(|(_, v)| walk(v, allowed, errs)),
            _ => {}
        }
    }
    let Value::Map(top) = &root.value else {
        return;
    };
    for (key, value) in top {
        let services = key.as_str() == Some("services");
        let Value::Map(list) = &value.value else {
            walk(value, false, errs);
            continue;
        };
        for (_, service) in list {
            let Value::Map(fields) = &service.value else {
                walk(service, false, errs);
                continue;
            };
            for (k, v) in fields {
                walk(v, services && k.as_str() == Some("environment"), errs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<String, String> {
        let vars = |k: &str| match k {
            "SET" => Some("v".to_owned()),
            "EMPTY" => Some(String::new()),
            "NESTED" => Some("n".to_owned()),
            _ => None,
        };
        substitute(text, &vars)
    }

    #[test]
    fn every_form_of_the_specification() {
        let ok = [
            ("$SET/${SET}", "v/v"),
            ("${UNSET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d}", "d d  d"),
            (
                "${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt}",
                "alt  alt ",
            ),
            ("${UNSET:-${NESTED}-x}", "n-x"),
            ("${UNSET:-${ALSO:-deep}}", "deep"),
            ("cost $$5 and $${SET}", "cost $5 and ${SET}"),
            ("${EMPTY?must} ${SET:?must}", " v"),
            ("no dollars", "no dollars"),
            ("$SET.conf", "v.conf"),
        ];
        for (text, want) in ok {
            assert_eq!(run(text).as_deref(), Ok(want), "{text}");
        }
        for (text, part) in [
            ("${SET", "is not closed"),
            ("$UNSET", "variable UNSET is not set"),
            ("${UNSET}", "variable UNSET is not set"),
            ("${UNSET:?gone}", "variable UNSET is required: gone"),
            ("${EMPTY:?}", "variable EMPTY is required"),
            ("a $ b", "write `$$`"),
            ("${1X}", "does not start with a variable name"),
            ("${SET!}", "after the name"),
        ] {
            let e = run(text).unwrap_err();
            assert!(e.contains(part), "{text}: {e}");
        }
    }
}

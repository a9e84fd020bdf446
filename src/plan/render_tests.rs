//! Unit tests of rendering: environment order, hashes per field, env file
//! errors, relative binds.

use super::*;
use crate::model::{DependCondition, StackState};

fn service(image: &str) -> Service {
    Service {
        image: image.into(),
        restart: "no".into(),
        ..Service::default()
    }
}

fn stack(services: Vec<(&str, Service)>) -> Stack {
    Stack {
        name: "web".into(),
        host: "local".into(),
        state: StackState::Running,
        sleep: None,
        services: services.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        networks: BTreeMap::new(),
        volumes: BTreeMap::new(),
        file: "stacks/web/compose.yaml".into(),
        host_owned: Vec::new(),
        remove_data: false,
        secrets: Default::default(),
    }
}

/// A stack with one service `app`, rendered without host variables.
fn one(s: Service) -> Target {
    render(
        &stack(vec![("app", s)]),
        Path::new("/r"),
        &src(&files, &|_| None),
        &same,
    )
}

/// Files and environment as given; no SOPS identity.
fn src<'a>(
    read: &'a dyn Fn(&Path) -> Result<String, String>,
    env: &'a dyn Fn(&str) -> Option<String>,
) -> Sources<'a> {
    Sources {
        env,
        read,
        sops: &|_, _| Err("no age identity".into()),
    }
}

fn same(stack: &Stack, rel: &str) -> Result<Bound, crate::model::Unbound> {
    let dir = Path::new("/r").join(stack.file.parent().unwrap_or(Path::new("")));
    Ok(Bound {
        mount: BoundAs::Path(dir.join(rel)),
        files: None,
    })
}

fn files(path: &Path) -> Result<String, String> {
    match path.to_str() {
        Some("/r/stacks/web/app.env") => Ok("# c\nA=1\nexport B=\"two\"\n\nC='3'\n".into()),
        _ => Err("no such file".into()),
    }
}

#[test]
fn env_files_then_environment_and_never_tends_own_environment() {
    let mut s = service("x:1");
    s.env_file = vec![crate::model::EnvFile {
        path: "stacks/web/app.env".into(),
        required: true,
        raw: false,
    }];
    s.environment.insert("C".into(), Some("override".into()));
    s.environment.insert("D".into(), None);
    s.environment.insert("E".into(), None);
    let host = |k: &str| (k == "D").then(|| "from-host".to_owned());
    let t = render(
        &stack(vec![("app", s)]),
        Path::new("/r"),
        &src(&files, &host),
        &same,
    );
    assert_eq!(t.error, None);
    assert_eq!(
        t.services["app"].env,
        ["A=1", "B=two", "C=override", "D", "E"],
        "a `- D` left unset by the stack's variables is not taken from tend's environment: \
         sent bare, as compose sends it"
    );
}

#[test]
fn hash_changes_with_content_not_with_order_or_depends_on() {
    let none = |_: &str| None;
    let a = render(
        &stack(vec![("app", service("x:1"))]),
        Path::new("/r"),
        &src(&files, &none),
        &same,
    );
    let mut dep = service("x:1");
    dep.depends_on
        .insert("db".into(), DependCondition::ServiceStarted);
    let b = render(
        &stack(vec![("app", dep), ("db", service("y:1"))]),
        Path::new("/r"),
        &src(&files, &none),
        &same,
    );
    assert_eq!(a.services["app"].hash, b.services["app"].hash);
    assert_eq!(b.services["app"].level, 1);
    let c = render(
        &stack(vec![("app", service("x:2"))]),
        Path::new("/r"),
        &src(&files, &none),
        &same,
    );
    assert_ne!(a.services["app"].hash, c.services["app"].hash);
    let changed: Vec<_> = a.services["app"]
        .parts
        .iter()
        .filter(|(k, v)| c.services["app"].parts[*k] != **v)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(changed, ["image"]);
}

#[test]
fn missing_env_file_is_an_error_of_the_stack() {
    let mut s = service("x:1");
    s.env_file = vec![crate::model::EnvFile {
        path: "stacks/web/missing.env".into(),
        required: true,
        raw: false,
    }];
    let t = one(s);
    assert!(t.error.unwrap().contains("missing.env"));
}

#[test]
fn relative_binds_are_made_absolute() {
    let mut s = service("x:1");
    s.volumes.push(crate::model::Mount {
        kind: crate::model::MountKind::Bind,
        source: "./conf/../site".into(),
        target: "/site".into(),
        read_only: true,
        options: String::new(),
    });
    let t = one(s);
    assert_eq!(
        t.services["app"].spec.volumes[0].source,
        "/r/stacks/web/site"
    );
}

#[test]
fn host_secrets_fill_the_environment_and_have_a_part_each() {
    let mut s = service("x:1");
    let mark = crate::model::secret::placeholder("PW");
    s.environment
        .insert("URL".into(), Some(format!("db://u:{mark}@db")));
    let mut st = stack(vec![("app", s)]);
    st.secrets.insert("PW".into(), "${env:PW}".into());
    let with = |pw: &'static str| {
        let env = move |k: &str| (k == "PW").then(|| pw.to_owned());
        render(&st, Path::new("/r"), &src(&files, &env), &same)
    };
    let a = with("one");
    assert_eq!(a.error, None);
    assert_eq!(a.services["app"].env, ["URL=db://u:one@db"]);
    assert_eq!(a.services["app"].secrets, ["one"]);
    let b = with("two");
    let (pa, pb) = (&a.services["app"].parts, &b.services["app"].parts);
    assert_ne!(pa["secret PW"], pb["secret PW"]);
    assert_eq!(
        pa["environment"], pb["environment"],
        "named, not as the environment"
    );
    let unset = render(&st, Path::new("/r"), &src(&files, &|_| None), &same);
    let e = unset.error.unwrap_or_default();
    assert!(
        e.contains("variable PW: ${env:PW} is not set on this host"),
        "{e}"
    );
}

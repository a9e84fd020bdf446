//! Compose files as people write them: interpolation from the stack's
//! `.env`, `[vars]` and `[hosts.NAME.vars]` (later wins, tend's own
//! environment never read), the container-option keys, and every bad input
//! a clear error at file:line:col.

use crate::support::{Dir, tend};

fn load(dir: &Dir) -> tend::model::Desired {
    match tend::config::load(dir.path(), chrono::Utc::now()) {
        Ok(d) => d,
        Err(tend::config::LoadError::Invalid(r)) => panic!("{}", r.render()),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn variables_come_from_env_file_then_vars_then_host_vars() {
    let dir = Dir::new();
    dir.write(
        "tend.toml",
        "[vars]\nTAG = \"2\"\nPORT = 8080\n\n[hosts.nas]\ndocker = \"tcp://nas.lan:2376\"\nvars = { PORT = \"9090\" }\n",
    );
    dir.write(
        "stacks/app/.env",
        "# published example\nTAG=1\nDATA=/srv/app\nexport TZ=\"Europe/Berlin\"\nPASS='pa$$word'\n",
    );
    dir.write(
        "stacks/app/compose.yaml",
        "x-tend:\n  host: nas\nservices:\n  app:\n    image: \"localhost/app:${TAG}\"\n    container_name: ${NAME:-app}\n    ports: [\"${PORT}:80\"]\n    volumes: [\"${DATA}/config:/config\"]\n    environment:\n      TZ: $TZ\n      PASS: ${PASS}\n      LITERAL: \"$$HOME\"\n      DATA:\n      PATH:\n    cap_add: [NET_ADMIN]\n    devices: [\"/dev/dri:/dev/dri\"]\n    ulimits: { nofile: { soft: 1024, hard: 2048 }, nproc: 512 }\n    logging: { driver: json-file, options: { max-size: 10m } }\n    deploy: { resources: { limits: { cpus: \"0.5\", memory: 512M } } }\n    extra_hosts: [\"host.docker.internal:host-gateway\"]\n    network_mode: host\n    cgroup: host\n    storage_opt: { size: 1G }\n",
    );
    // tend's own environment is never read.
    let d = load(&dir);
    let s = &d.stacks[0].services["app"];
    assert_eq!(s.image, "localhost/app:2", "[vars] wins over .env");
    assert_eq!(
        s.ports[0].published.as_deref(),
        Some("9090"),
        "host vars win"
    );
    assert_eq!(s.volumes[0].source, "/srv/app/config");
    assert_eq!(s.environment["TZ"].as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        s.environment["PASS"].as_deref(),
        Some("pa$$word"),
        "single quotes are literal"
    );
    assert_eq!(s.environment["LITERAL"].as_deref(), Some("$HOME"));
    assert_eq!(
        s.environment["DATA"].as_deref(),
        Some("/srv/app"),
        "a key without a value takes the stack's variable"
    );
    assert_eq!(
        s.environment["PATH"], None,
        "set only in tend's environment: stays unset"
    );
    let o = &s.options;
    assert_eq!(o.container_name.as_deref(), Some("app"));
    assert_eq!(o.cap_add, ["NET_ADMIN"]);
    assert_eq!(
        o.devices,
        [("/dev/dri".into(), "/dev/dri".into(), "rwm".into())]
    );
    assert_eq!(o.ulimits["nofile"], (1024, 2048));
    assert_eq!(o.ulimits["nproc"], (512, 512));
    assert_eq!(o.memory, Some(512 * 1024 * 1024));
    assert_eq!(o.nano_cpus, Some(500_000_000));
    assert_eq!(o.network_mode.as_deref(), Some("host"));
    assert_eq!(o.extra_hosts, ["host.docker.internal:host-gateway"]);
    assert_eq!(o.logging.as_ref().unwrap().1["max-size"], "10m");
    assert_eq!(o.cgroup.as_deref(), Some("host"));
    assert_eq!(o.storage_opt["size"], "1G");
}

#[test]
fn every_bad_input_is_an_error_at_its_place() {
    let dir = Dir::new();
    dir.write("stacks/one/.env", "A=1\nthis line is not dotenv\n");
    dir.write(
        "stacks/one/compose.yaml",
        "services:\n  app:\n    image: busybox\n",
    );
    dir.write(
        "stacks/two/compose.yaml",
        "services:\n  app:\n    image: \"busybox:${TAG\"\n  web:\n    image: busybox\n    environment: { A: \"${NEEDED:?set NEEDED in .env}\" }\n  db:\n    image: busybox\n    command: [\"${UNSET_ANYWHERE}\"]\n",
    );
    dir.write(
        "stacks/three/compose.yaml",
        "services:\n  app:\n    image: busybox\n    ports: [\"70000:80\", \"9000-9001:80-82\"]\n    devices: [\"dev/sda:/dev/sda\"]\n    container_name: shared\n",
    );
    dir.write(
        "stacks/four/compose.yaml",
        "services:\n  app:\n    image: busybox\n    container_name: shared\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1);
    let text = format!("{}{}", out.stdout, out.stderr);
    crate::support::assert_contains_all(
        &text,
        &[
            "stacks/one/.env:2:6: error: expected `=` after `this`",
            "stacks/two/compose.yaml:3:12: error: `${TAG` is not closed",
            "stacks/two/compose.yaml:6:23: error: variable NEEDED is required: set NEEDED in .env",
            "stacks/two/compose.yaml:9:15: error: variable UNSET_ANYWHERE is not set",
            "stacks/three/compose.yaml:4:13: error: invalid port `70000:80`",
            "stacks/three/compose.yaml:4:25: error: invalid port `9000-9001:80-82`: a container port range needs a host range of the same size (or none)",
            "stacks/three/compose.yaml:5:15: error: device paths must be absolute",
            "container_name `shared` of service app is also used by service app of stack",
        ],
    );
}

#[test]
fn profiles_leave_out_services_unless_enabled() {
    let dir = Dir::new();
    let file = |extra: &str| {
        format!(
            "{extra}services:\n  app:\n    image: busybox\n  debug:\n    image: busybox\n    profiles: [debug]\n    volumes: [cache:/cache]\n    env_file: [debug.env]\nvolumes:\n  cache:\n"
        )
    };
    dir.write("stacks/p/debug.env", "A=1\n");
    dir.write("stacks/p/compose.yaml", file(""));
    let d = load(&dir);
    let names: Vec<&String> = d.stacks[0].services.keys().collect();
    assert_eq!(names, ["app"]);
    // Needing a service that its profile leaves out is an error, as compose.
    dir.write(
        "stacks/p/compose.yaml",
        file("").replace(
            "image: busybox\n  debug:",
            "image: busybox\n    depends_on: [debug]\n  debug:",
        ),
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    assert!(
        out.contains("compose.yaml:4:17: error: service `debug` is needed by service `app`"),
        "{out}"
    );
    dir.write(
        "stacks/p/compose.yaml",
        file("x-tend:\n  profiles: [debug]\n"),
    );
    let d = load(&dir);
    assert_eq!(d.stacks[0].services.len(), 2);
}

/// `tend config`: the stack as tend will create it, in YAML and JSON.
#[test]
fn config_prints_the_resolved_stack() {
    let dir = Dir::new();
    dir.write("tend.toml", "[vars]\nTAG = \"3\"\n");
    dir.write("stacks/web/.env", "TZ=Europe/Paris\n");
    dir.write("stacks/web/app.env", "FROM_FILE=yes\n");
    dir.write(
        "stacks/web/compose.yaml",
        "services:\n  app:\n    image: localhost/app:${TAG}\n    env_file: app.env\n    environment: [TZ, \"MODE=${MODE:-fast}\"]\n    volumes: [./data:/data]\n    healthcheck: { test: [CMD, true], interval: 1m30s }\n    cap_add: [NET_ADMIN]\n  side:\n    image: localhost/side:1\n    network_mode: service:app\n",
    );
    let json = tend(dir.path(), &["config", ".", "web", "--format", "json"]).expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let app = &v["stacks"]["web"]["services"]["app"];
    assert_eq!(app["image"], "localhost/app:3");
    assert_eq!(app["container_name"], "web-app-1");
    assert_eq!(
        app["environment"],
        serde_json::json!({"FROM_FILE": "yes", "MODE": "fast", "TZ": "Europe/Paris"})
    );
    assert_eq!(app["healthcheck"]["interval"], "1m30s");
    assert_eq!(app["cap_add"], serde_json::json!(["NET_ADMIN"]));
    let bind = app["volumes"][0]["source"].as_str().unwrap();
    assert!(bind.ends_with("stacks/web/data"), "{bind}");
    let side = &v["stacks"]["web"]["services"]["side"];
    assert_eq!(side["network_mode"], "container:web-app-1");
    let yaml = tend(dir.path(), &["config", "."]).expect_code(0);
    assert!(
        yaml.stdout.contains("image: localhost/app:3") && yaml.stdout.contains("interval: 1m30s"),
        "{}",
        yaml.stdout
    );
    let none = tend(dir.path(), &["config", ".", "nope"]).expect_code(1);
    let said = format!("{}{}", none.stdout, none.stderr);
    assert!(
        said.contains("no stack named `nope` (stacks: web)"),
        "{said}"
    );
}

/// Host secrets in `[vars]` / `[hosts.NAME.vars]`: resolved on the host
/// when the stack is rendered, only into `environment`, never shown.
#[test]
fn host_secret_vars_reach_only_the_environment_and_are_never_shown() {
    let dir = Dir::new();
    dir.write("secret.txt", "from-a-file\n");
    dir.write(
        "tend.toml",
        format!(
            "[vars]\nTOKEN = \"${{file:{}}}\"\n\n[hosts.local]\ndocker = \"unix:///run/docker.sock\"\nvars = {{ DB_PASS = \"${{env:TEND_TEST_DB_PASS}}\" }}\n",
            dir.path().join("secret.txt").display()
        ),
    );
    dir.write(
        "stacks/db/compose.yaml",
        "services:\n  db:\n    image: localhost/db:1\n    environment:\n      URL: postgres://u:${DB_PASS}@db\n      TOKEN:\n      PLAIN: visible\n",
    );
    let config = |pass: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tend"))
            .args(["config", ".", "db", "--format", "json"])
            .current_dir(dir.path())
            .env("TEND_TEST_DB_PASS", pass)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !text.contains(pass) && !text.contains("from-a-file"),
            "{text}"
        );
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["stacks"]["db"]["services"]["db"]
            .clone()
    };
    let a = config("hunter2");
    assert_eq!(a["environment"]["URL"], "postgres://u:***@db");
    assert_eq!(a["environment"]["TOKEN"], "***");
    assert_eq!(a["environment"]["PLAIN"], "visible");
    let b = config("hunter3");
    assert_ne!(
        a["config_hash"], b["config_hash"],
        "a changed secret recreates"
    );

    // Anywhere else a secret is refused at its place, naming the variable.
    dir.write(
        "stacks/db/compose.yaml",
        "services:\n  db:\n    image: localhost/db:${DB_PASS}\n",
    );
    let bad = tend(dir.path(), &["check", "."]).expect_code(1);
    assert!(
        bad.stdout.contains("compose.yaml:3:12")
            && bad.stdout.contains("variable DB_PASS holds a host secret"),
        "{}",
        bad.stdout
    );
}

/// `secrets`/`configs` from files: read-only binds, as compose makes them
/// outside Swarm; other sources and unknown names are errors at their place.
#[test]
fn secrets_and_configs_from_files_are_read_only_binds() {
    let dir = Dir::new();
    dir.write(
        "stacks/app/compose.yaml",
        "secrets:\n  db_pass:\n    file: ./secrets/db.txt\nconfigs:\n  conf:\n    file: app.conf\nservices:\n  app:\n    image: localhost/app:1\n    secrets: [db_pass, {source: db_pass, target: /etc/pw}]\n    configs: [{source: conf, target: app.conf}]\n",
    );
    dir.write("stacks/app/secrets/db.txt", "pw\n");
    dir.write("stacks/app/app.conf", "x=1\n");
    let d = load(&dir);
    let mounts: Vec<(String, String, bool)> = d.stacks[0].services["app"]
        .volumes
        .iter()
        .map(|m| (m.source.clone(), m.target.clone(), m.read_only))
        .collect();
    assert_eq!(
        mounts,
        [
            (
                "./secrets/db.txt".into(),
                "/run/secrets/db_pass".into(),
                true
            ),
            ("./secrets/db.txt".into(), "/etc/pw".into(), true),
            ("./app.conf".into(), "/app.conf".into(), true),
        ]
    );
    dir.write(
        "stacks/app/compose.yaml",
        "secrets:\n  a:\n    environment: PW\n  c:\n    file: ./gone.txt\nservices:\n  app:\n    image: localhost/app:1\n    secrets: [b]\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    crate::support::assert_contains_all(
        &out,
        &[
            "compose.yaml:3:18: error: secrets a: variable PW is not set",
            "compose.yaml:5:11: error: `stacks/app/gone.txt` does not exist in the repository",
            "compose.yaml:9:15: error: unknown secrets `b` (declared: c)",
        ],
    );
}

/// Volume modes and long-syntax options reach the engine as compose sends
/// them: bind modes (`ro,z`, propagation), `nocopy`, a tmpfs with size and
/// mode — checked on the real engine; a mode that is none is an error.
#[test]
fn volume_modes_and_long_syntax_options_reach_the_engine() {
    use crate::support::docker::{inspect, shared_for};
    let (host, _clean) = shared_for(&["mounts"]);
    let dir = crate::stacks::repo(&host, false);
    dir.write(
        "stacks/mounts/compose.yaml",
        "services:\n  app:\n    image: localhost/busybox:v1\n    command: [sleep, \"1000\"]\n    volumes:\n      - ./conf:/conf:ro,z\n      - data:/data:nocopy\n      - { type: bind, source: ./shared, target: /shared, bind: { propagation: rprivate } }\n      - { type: tmpfs, target: /scratch, tmpfs: { size: 64m, mode: 0o1777 } }\nvolumes:\n  data:\n",
    );
    // `.`: bind sources are made absolute from the folder given.
    tend(dir.path(), &["apply", "."]).expect_code(0);
    tend(dir.path(), &["plan", "."]).expect_code(0);
    let c = "mounts-app-1";
    let binds = inspect(&host, c, "{{json .HostConfig.Binds}}");
    assert!(
        binds.contains("/conf:/conf:ro,z\"") && binds.contains("/shared:/shared:rprivate\""),
        "{binds}"
    );
    let mounts = inspect(&host, c, "{{json .HostConfig.Mounts}}");
    assert!(mounts.contains("\"NoCopy\":true"), "{mounts}");
    assert!(
        mounts.contains("\"SizeBytes\":67108864") && mounts.contains("\"Mode\":1023"),
        "{mounts}"
    );
    dir.write(
        "stacks/mounts/compose.yaml",
        "services:\n  app:\n    image: localhost/busybox:v1\n    volumes: [\"./a:/a:rw,bogus\"]\n",
    );
    let out = tend(dir.path(), &["check", "."]).expect_code(1).stdout;
    assert!(
        out.contains("compose.yaml:4:15: error: unknown volume mode `bogus`"),
        "{out}"
    );
}

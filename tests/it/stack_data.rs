//! What containers write into relative binds survives every commit, drift
//! and upgrade: the daemon mounts each stack's persistent working
//! directory, places git's tracked files in it and never touches the rest.
//! Also: one broken stack leaves the others alone, and a stack removed from
//! git keeps its data unless it asked otherwise.

use crate::stacks::repo;
use crate::support::docker::{docker, docker_try, eventually, inspect, shared_for};
use crate::support::procs::{Tend, wait_until};
use crate::support::{Dir, tend};
use std::time::Duration;

const APP: &str = "services:\n  app:\n    image: localhost/busybox:v1\n    command: [sh, -c, \"date >> /config/state.db; exec sleep 100000\"]\n    init: true\n    volumes: [./config:/config, ./data:/data]\n";

fn exec(host: &str, name: &str, cmd: &str) -> String {
    docker(host, &["exec", name, "sh", "-c", cmd])
}

#[test]
fn container_state_survives_ten_commits_and_git_wins_for_tracked_files() {
    let (host, _clean) = shared_for(&["keep"]);
    let repo = repo(&host, false);
    repo.write("stacks/keep/config/app.conf", "line=0\n");
    repo.write("stacks/keep/compose.yaml", APP);
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("keep");
    let name = "keep-app-1";
    // The missing ./data bind source was created, as compose does.
    exec(
        &host,
        name,
        "echo user data >> /config/state.db; echo x > /data/blob",
    );
    let source = inspect(&host, name, "{{range .Mounts}}{{.Source}} {{end}}");
    assert!(source.contains("/stacks/local/keep/config"), "{source}");
    for n in 1..=10 {
        let before = inspect(&host, name, "{{.Id}}");
        repo.write("stacks/keep/config/app.conf", format!("line={n}\n"));
        let want = format!("line={n}");
        // The folder is bound: the old container sees the file at once;
        // wait for the recreated one.
        eventually(
            &format!("commit {n} placed and the service recreated"),
            || {
                let now = docker_try(
                    &host,
                    &["inspect", "-f", "{{.Id}} {{.State.Running}}", name],
                )
                .1;
                now.ends_with(" true")
                    && !now.starts_with(&before)
                    && docker_try(&host, &["exec", name, "cat", "/config/app.conf"]).1 == want
            },
        );
    }
    let s = t.wait_synced("keep");
    let reason = s["last_plan"]["changes"].to_string();
    assert!(reason.contains("config/app.conf changed in git"), "{s:#}");
    let state = exec(&host, name, "cat /config/state.db");
    assert!(state.contains("user data"), "state lost: {state}");
    assert!(state.lines().count() >= 11, "one line per start: {state}");
    assert_eq!(exec(&host, name, "cat /data/blob"), "x");
    let sorted = |text: String| {
        let mut v: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(inspect(&host, name, "{{range .Mounts}}{{.Source}} {{end}}")),
        sorted(source.clone()),
        "the mount paths stay the same"
    );
    // Compose's labels: the project directory holds a copy of the file.
    let dir = inspect(
        &host,
        name,
        "{{index .Config.Labels \"com.docker.compose.project.working_dir\"}}",
    );
    assert!(
        std::path::Path::new(&dir).join("compose.yaml").is_file(),
        "{dir}"
    );

    // A tracked file changed on the host: restored from git, told as drift,
    // the host's copy kept.
    let conf = std::path::Path::new(&dir).join("config/app.conf");
    std::fs::write(&conf, "edited on the host\n").unwrap();
    repo.write(
        "jobs/nudge.yaml",
        "jobs:\n  - name: nudge\n    command: [\"true\"]\n",
    );
    eventually("the host edit restored", || {
        std::fs::read_to_string(&conf).unwrap() == "line=10\n"
    });
    // The file is back before the pass records its event: wait for it.
    let told = wait_until(Duration::from_secs(20), || {
        format!("{:?}", t.events(50))
            .contains("drift: config/app.conf changed on the host; restored from git")
    });
    assert!(told, "{:?}", t.events(50));
    assert!(exec(&host, name, "cat /config/state.db").contains("user data"));
}

#[test]
fn host_owned_files_are_left_to_the_app() {
    let (host, _clean) = shared_for(&["owned"]);
    let repo = repo(&host, false);
    repo.write("stacks/owned/config/app.conf", "from git\n");
    let file = APP.replace(
        "services:",
        "x-tend:\n  host_owned: [config/app.conf]\nservices:",
    );
    repo.write("stacks/owned/compose.yaml", file);
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("owned");
    let name = "owned-app-1";
    let id = inspect(&host, name, "{{.Id}}");
    exec(&host, name, "echo rewritten by the app > /config/app.conf");
    repo.write("stacks/owned/config/app.conf", "from git, later\n");
    repo.write("stacks/owned/config/other.conf", "new\n");
    // other.conf is mounted: the service is recreated, and sees it.
    eventually(
        "the new tracked file placed and the service recreated",
        || {
            let now = docker_try(
                &host,
                &["inspect", "-f", "{{.Id}} {{.State.Running}}", name],
            )
            .1;
            now != format!("{id} true")
                && now.ends_with("true")
                && docker_try(&host, &["exec", name, "cat", "/config/other.conf"]).1 == "new"
        },
    );
    t.wait_synced("owned");
    assert_eq!(
        exec(&host, name, "cat /config/app.conf"),
        "rewritten by the app"
    );
}

#[test]
fn one_broken_stack_never_changes_another() {
    let (host, _clean) = shared_for(&["busy", "fine", "lonely"]);
    let repo = repo(&host, false);
    let port = crate::support::procs::free_port();
    let hold = std::net::TcpListener::bind(("0.0.0.0", port)).unwrap();
    let sleeper =
        "    image: localhost/busybox:v1\n    command: [sleep, \"100000\"]\n    init: true\n";
    repo.write(
        "stacks/busy/compose.yaml",
        format!("services:\n  app:\n{sleeper}    ports: [\"{port}:80\"]\n"),
    );
    repo.write(
        "stacks/lonely/compose.yaml",
        format!("services:\n  app:\n{sleeper}networks: {{ outside: {{ external: true }} }}\n")
            .replace(
                "    init: true\n",
                "    init: true\n    networks: [outside]\n",
            ),
    );
    repo.write(
        "stacks/fine/compose.yaml",
        format!("services:\n  app:\n{sleeper}"),
    );
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("fine");
    let ok = wait_until(Duration::from_secs(30), || {
        let lonely = t.stack("lonely").to_string();
        t.stack("busy")["sync"] == "degraded"
            && lonely.contains("external network outside does not exist on host local")
    });
    assert!(ok, "{:#} {:#}", t.stack("busy"), t.stack("lonely"));
    let busy = t.stack("busy").to_string();
    assert!(
        busy.contains("address already in use") || busy.contains("port is already allocated"),
        "{busy}"
    );
    assert_ne!(t.stack("lonely")["sync"], "synced");
    assert_eq!(t.stack("fine")["sync"], "synced");
    drop(hold);
}

#[test]
fn bad_references_and_escaping_binds_are_config_errors_at_their_line() {
    let repo = Dir::new();
    repo.write(
        "stacks/bad/compose.yaml",
        "services:\n  app:\n    image: localhost/Not_A_Valid:ref:x\n  web:\n    image: busybox\n    volumes: [\"./../../etc:/host-etc\"]\n",
    );
    let out = tend(repo.path(), &["check", "."]).expect_code(1);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("stacks/bad/compose.yaml:3:12")
            && text.contains("is not a valid image reference"),
        "{text}"
    );
    assert!(
        text.contains("stacks/bad/compose.yaml:6:15") && text.contains("leaves the stack folder"),
        "{text}"
    );
}

#[test]
fn a_huge_file_or_a_symlink_out_fails_only_its_stack() {
    let (host, _clean) = shared_for(&["huge", "link", "calm"]);
    let repo = repo(&host, false);
    let sleeper = "services:\n  app:\n    image: localhost/busybox:v1\n    command: [sleep, \"100000\"]\n    init: true\n    volumes: [./conf:/conf]\n";
    for s in ["huge", "link", "calm"] {
        repo.write(&format!("stacks/{s}/compose.yaml"), sleeper);
        repo.write(&format!("stacks/{s}/conf/a.conf"), "a\n");
    }
    let big = std::fs::File::create(repo.path().join("stacks/huge/conf/big.bin")).unwrap();
    big.set_len(300 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("stacks/link/conf/pw")).unwrap();
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("calm");
    let huge = t.stack("huge").to_string();
    assert!(huge.contains("conf/big.bin is 314572800 bytes"), "{huge}");
    let link = t.stack("link").to_string();
    assert!(
        link.contains("conf/pw is a symlink that points out"),
        "{link}"
    );
    assert!(docker_try(&host, &["inspect", "huge-app-1"]).0.eq(&false));
    assert!(!data.path().join("data/stacks/local/huge/conf").exists());
}

/// A tmpfs of `size` mounted at `path`, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: &std::path::Path, size: &str) -> SmallDisk {
        std::fs::create_dir_all(path).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            ok,
            "mounting a tmpfs needs root (the tests run as root in CI)"
        );
        SmallDisk(path.to_owned())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_that_stack_and_deletes_nothing() {
    let (host, _clean) = shared_for(&["roomy", "crammed"]);
    let repo = repo(&host, false);
    for s in ["roomy", "crammed"] {
        repo.write(&format!("stacks/{s}/config/app.conf"), "small\n");
        repo.write(&format!("stacks/{s}/compose.yaml"), APP);
    }
    let data = Dir::new();
    let stacks = data.path().join("stacks");
    let _disk = SmallDisk::mount(&stacks, "2m");
    let state = data.path().join("data");
    let args = [
        "--source",
        repo.path().to_str().unwrap(),
        "--data",
        state.to_str().unwrap(),
        "--stacks-dir",
        stacks.to_str().unwrap(),
    ];
    let t = Tend::start(data.path(), &args, &data.path().join("tend.log"));
    t.wait_synced("crammed");
    let id = inspect(&host, "crammed-app-1", "{{.Id}}");
    exec(&host, "crammed-app-1", "echo user data >> /config/state.db");
    repo.write("stacks/crammed/config/app.conf", "changed\n");
    repo.write("stacks/crammed/config/big.bin", vec![7u8; 3 * 1024 * 1024]);
    let ok = wait_until(Duration::from_secs(30), || {
        t.stack("crammed")
            .to_string()
            .contains("No space left on device")
    });
    assert!(ok, "{:#}\n{}", t.stack("crammed"), t.log_text());
    // Nothing was deleted or half-written; the container was left alone.
    let work = stacks.join("local/crammed/config");
    assert!(
        std::fs::read_to_string(work.join("state.db"))
            .unwrap()
            .contains("user data")
    );
    assert!(!work.join("big.bin").exists());
    assert_eq!(inspect(&host, "crammed-app-1", "{{.Id}}"), id);
    assert_eq!(t.stack("roomy")["sync"], "synced");
    // Room again (the file is gone from git): the change goes through.
    std::fs::remove_file(repo.path().join("stacks/crammed/config/big.bin")).unwrap();
    eventually("the smaller commit applied", || {
        docker_try(&host, &["exec", "crammed-app-1", "cat", "/config/app.conf"]).1 == "changed"
    });
    assert!(exec(&host, "crammed-app-1", "cat /config/state.db").contains("user data"));
}

#[test]
fn no_op_passes_write_nothing_and_change_nothing() {
    let (host, _clean) = shared_for(&["idle"]);
    let repo = repo(&host, false);
    let toml = std::fs::read_to_string(repo.path().join("tend.toml")).unwrap();
    repo.write(
        "tend.toml",
        toml.replace("[reconcile]\n", "[reconcile]\ninterval = \"1s\"\n"),
    );
    repo.write("stacks/idle/config/app.conf", "a\n");
    repo.write("stacks/idle/config/sub/b.conf", "b\n");
    repo.write("stacks/idle/compose.yaml", APP);
    let data = Dir::new();
    let t = Tend::follow(repo.path(), &data);
    t.wait_synced("idle");
    t.wait_passes(t.stack_passes(), 2);
    let work = data.path().join("data/stacks/local");
    let stamps = || {
        let mut out = Vec::new();
        let mut todo = vec![work.clone()];
        while let Some(dir) = todo.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let meta = e.metadata().unwrap();
                if meta.is_dir() {
                    todo.push(e.path());
                } else {
                    out.push((e.path(), meta.modified().unwrap()));
                }
            }
        }
        out.sort();
        out
    };
    let passes = || t.stack_passes();
    let (before, id, n0) = (stamps(), inspect(&host, "idle-app-1", "{{.Id}}"), passes());
    let ok = wait_until(Duration::from_secs(20), || passes() >= n0 + 3);
    assert!(
        ok,
        "the 1s interval did not bring passes: {} → {}",
        n0,
        passes()
    );
    assert_eq!(stamps(), before, "a no-op pass wrote a file");
    assert_eq!(inspect(&host, "idle-app-1", "{{.Id}}"), id);
    assert!(
        before.len() >= 4,
        "manifest, compose.yaml, two tracked files: {before:?}"
    );
}

"""The compose corpus, side by side with docker-compose 1.29: which
real-world stacks each accepts (`docker-compose config`, `tend check`), and
for the stacks both accept, whether each service's container is the same,
field by field — on one private dockerd, one stack at a time, images
replaced by stand-ins tagged under each file's references (busybox with an
ENTRYPOINT that sleeps, so any `command:` keeps it up).

usage: bench_compose.py TEND CORPUS_DIR PYTHON_WITH_YAML
CORPUS_MODE=create (the test suite's differential test) creates the
containers without starting them (`docker-compose up --no-start`, tend with
`x-tend.state: stopped` on its copy); the default `deploy` runs both (`up
-d`, `tend run`) and also counts what starts. Prints one line per stack and
a summary; exits 1 when a stack compose accepts is refused by tend for
anything but a variable set nowhere, when one compose creates is not
created by tend, or when fewer than CORPUS_MIN_IDENTICAL (default 0.98) of
the compared services are identical. CORPUS_SECONDS (default 1800) bounds
the whole run; CORPUS_ONLY=003,017 measures only the stacks whose folders
start so.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import private_engine  # noqa: E402

tend, corpus = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="tend-corpus-")
# CORPUS_ENGINE=bridge,cidr,pool: another private engine (two runs side by side).
bridge, cidr, pool = os.environ.get("CORPUS_ENGINE", "tendbr8,10.218.0.1/24,10.227.0.0/16").split(",")
host, env, engine = private_engine(work, bridge, cidr, pool)


def docker(*args, check=True):
    r = subprocess.run(["docker", "-H", host, *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"docker {args}: {r.stderr}")
    return r.stdout.strip()


def copy_stack(src, dest):
    shutil.copytree(src, dest, symlinks=True)
    os.remove(os.path.join(dest, "SOURCE"))
    notes = open(os.path.join(src, "SOURCE")).read()
    if "vars: synthesized" in notes and os.path.exists(os.path.join(src, "vars.env")):
        shutil.copy(os.path.join(src, "vars.env"), os.path.join(dest, ".env"))


def resolved(config_text):
    """(image references, service names, external networks, external volumes,
    whether the containers must start to be compared) of the file as
    `docker-compose config` resolved it (interpolated); a service that is
    built is built on both sides, not stood in; services of a profile are
    left out on both sides (none is enabled). compose 1.29 joins
    `network_mode: service:X` only to a running X, and connects a created
    container to its other networks only when it starts: such stacks are
    compared started on both sides (tend then without `state: stopped`)."""
    code = ("import sys, yaml, json; d = yaml.safe_load(sys.stdin.read()) or {}; s = d.get('services') or {};"
            "ext = lambda k: [(v or {}).get('name', n) for n, v in (d.get(k) or {}).items() if (v or {}).get('external')];"
            "start = any(str(v.get('network_mode', '')).startswith('service:') or len(v.get('networks') or {}) > 1"
            " for v in s.values());"
            "print(json.dumps([sorted({v.get('image') for v in s.values() if v.get('image') and not v.get('build')}),"
            " [n for n, v in s.items() if not v.get('profiles')],"
            " ext('networks'), ext('volumes'), start]))")
    out = subprocess.run([sys.argv[3], "-c", code], input=config_text, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)


def stand_in(refs):
    if not docker("images", "-q", "tend-standin:latest"):
        cid = docker("create", "localhost/busybox:v1")
        docker("commit", "-c", 'ENTRYPOINT ["/bin/sh","-c","exec sleep 100000","x"]', "-c", "CMD []",
               cid, "tend-standin:latest")
        docker("rm", cid)
    for ref in refs:
        docker("tag", "tend-standin:latest", ref, check=False)


def externals(networks, volumes):
    """Creates the external networks and volumes a file names, as its user would have."""
    for net in networks:
        docker("network", "create", net, check=False)
    for vol in volumes:
        docker("volume", "create", vol, check=False)


def running(project):
    out = docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                 "--format", "{{.Label \"com.docker.compose.service\"}} {{.State}}")
    return dict(line.split(" ", 1) for line in out.splitlines() if line)


CONFIG = ["Image", "Cmd", "Entrypoint", "Env", "User", "WorkingDir", "Tty", "OpenStdin", "StopSignal",
          "StopTimeout", "Healthcheck", "ExposedPorts", "Domainname"]
HOST = ["PortBindings", "RestartPolicy", "Init", "Privileged", "CapAdd", "CapDrop", "Devices", "ExtraHosts",
        "Dns", "DnsSearch", "DnsOptions", "Tmpfs", "ShmSize", "LogConfig", "Memory", "MemoryReservation",
        "MemorySwap", "NanoCpus", "PidsLimit", "SecurityOpt", "Sysctls", "Ulimits", "GroupAdd", "PidMode",
        "IpcMode", "ReadonlyRootfs", "OomScoreAdj", "CpuShares", "CpusetCpus", "NetworkMode", "DeviceRequests"]


def empty(v):
    return v in (None, [], {}, "", 0, False)


def fields(project, project_dir):
    """Each service's container, the compared fields normalised: service -> field -> value."""
    ids = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").split()
    out, numbers = {}, {}
    nets = {n["Id"]: n["Name"] for n in json.loads(docker("network", "inspect", *docker("network", "ls", "-q").split()))}
    for c in json.loads(docker("inspect", *ids)) if ids else []:
        cfg, host = c["Config"], c["HostConfig"]
        f = {k: cfg.get(k) for k in CONFIG}
        f.update({k: host.get(k) for k in HOST})
        f["Env"] = sorted(f["Env"] or [])
        if f["NetworkMode"] in nets:
            f["NetworkMode"] = nets[f["NetworkMode"]]
        mode = f["NetworkMode"] or ""
        if mode.startswith("container:"):
            # compose names the container by id, tend by name: compare the service.
            other = json.loads(docker("inspect", mode.split(":", 1)[1]))[0]
            f["NetworkMode"] = "service:" + other["Config"]["Labels"].get("com.docker.compose.service", "")
        if f["RestartPolicy"] and f["RestartPolicy"].get("Name") in ("", "no"):
            f["RestartPolicy"] = None
        f["Labels"] = {k: v for k, v in (cfg.get("Labels") or {}).items()
                       if not k.startswith(("com.docker.compose.", "tend."))}
        mounts = []
        for m in c.get("Mounts") or []:
            src = m.get("Name") or m.get("Source", "")
            if m["Type"] == "volume" and len(src) == 64 and all(ch in "0123456789abcdef" for ch in src):
                src = "<anonymous>"
            if m["Type"] == "bind" and src.startswith(project_dir):
                src = "./" + os.path.relpath(src, project_dir)
            mounts.append((m["Type"], src, m["Destination"], m.get("RW")))
        f["Mounts"] = sorted(mounts)
        networks = {}
        for name, n in (c["NetworkSettings"].get("Networks") or {}).items():
            aliases = [a for a in (n.get("Aliases") or []) if not c["Id"].startswith(a)]
            networks[name] = sorted(set(aliases))
        f["Networks"] = networks
        service = cfg["Labels"].get("com.docker.compose.service")
        number = cfg["Labels"].get("com.docker.compose.container-number", "")
        numbers[service] = sorted(numbers.get(service, []) + [number])
        out[service] = {k: v for k, v in f.items() if not empty(v)}
    for service, seen in numbers.items():  # replicas: which numbers exist
        out[service]["Numbers"] = seen
    return out


def differences(a, b):
    """Per service, the fields that differ between two `fields` results."""
    diff = {}
    for service in sorted(set(a) | set(b)):
        x, y = a.get(service, {}), b.get(service, {})
        keys = sorted(k for k in set(x) | set(y) if x.get(k) != y.get(k))
        diff[service] = keys
    return diff


def clean():
    ids = docker("ps", "-aq").split()
    if ids:
        docker("rm", "-f", *ids)
    docker("network", "prune", "-f", check=False)  # external ones too: made again per stack
    docker("volume", "prune", "-f", check=False)


# docker-compose reads the shell's environment before .env (LANG, TZ, …);
# tend never does: give compose only what it needs to run.
COMPOSE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}


MODE = os.environ.get("CORPUS_MODE", "deploy")


def compose(folder, project, *args, timeout=150):
    """docker-compose on `folder` as project `project`; the CompletedProcess."""
    try:
        return subprocess.run(["docker-compose", "-p", project, "--project-directory", folder, "-f",
                               os.path.join(folder, "compose.yaml"), *args],
                              capture_output=True, text=True, env=dict(COMPOSE_ENV, DOCKER_HOST=host),
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess([], 1, "", f"docker-compose {args[0]} took longer than {timeout} s")


def last_line(text):
    return text.strip().splitlines()[-1:] if text.strip() else []


def compose_creates(folder, project, services, start):
    """Compose's containers (started in deploy mode or when `start`): (ok, why, fields)."""
    start = start or MODE == "deploy"
    up = ["up", "-d"] if start else ["up", "--no-start"]
    r = compose(folder, project, *up)
    time.sleep(1 if start else 0)
    seen = running(project)
    want = "running" if MODE == "deploy" else None
    ok = r.returncode == 0 and all(s in seen and (want is None or seen[s] == want) for s in services)
    shape = fields(project, folder) if ok else {}
    compose(folder, project, "down", "-v", timeout=300)
    return ok, last_line(r.stderr) if r.returncode else [], shape


def get(addr, path):
    with urllib.request.urlopen(f"http://{addr}{path}", timeout=5) as r:
        return json.loads(r.read())


def tend_deploys(repo, project, services, name):
    """A daemon following `repo` (dev mode); waits until the stack settles."""
    data = os.path.join(work, f"data-{name}")
    port = 18600 + hash(project) % 1000
    addr = f"127.0.0.1:{port}"
    log = open(os.path.join(work, f"tend-{name}.log"), "w")
    proc = subprocess.Popen([tend, "run", "--source", repo, "--data", data, "--listen", addr],
                            stdout=subprocess.DEVNULL, stderr=log, env=env)
    status, deadline = None, time.time() + 75
    try:
        while time.time() < deadline:
            time.sleep(0.5)
            try:
                stacks = get(addr, "/api/v1/stacks")["stacks"]
            except OSError:
                continue
            mine = [s for s in stacks if s["name"] == project]
            if mine and mine[0]["sync"] in ("synced", "degraded", "unknown"):
                status = mine[0]
                if mine[0]["sync"] == "synced" or time.time() > deadline - 60:
                    break
        seen = running(project)
        ok = status is not None and status["sync"] == "synced" and all(seen.get(s) == "running" for s in services)
        why = [] if ok else [json.dumps(status)[:300] if status else "no status"]
        workdir = os.path.join(data, "stacks", "local", project)
        return ok, why, fields(project, workdir) if ok else {}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def tend_creates(repo, project, services, start):
    """`tend apply`, the stack stopped unless `start`: its containers created."""
    folder = os.path.join(repo, "stacks", project)
    file = os.path.join(folder, "compose.yaml")
    text = re.sub(r"(\n\.\.\.\s*)+$", "\n", open(file).read())  # an explicit document end
    with open(file, "w") as f:
        f.write(text + ("" if start else "\nx-tend:\n  state: stopped\n"))
    try:
        r = subprocess.run([tend, "apply", repo], capture_output=True, text=True, env=env, timeout=150)
        why = last_line(r.stdout + r.stderr) if r.returncode else []
    except subprocess.TimeoutExpired:
        why = ["tend apply took longer than 150 s"]
    seen = running(project)
    ok = all(s in seen for s in services)
    return ok, why, fields(project, folder) if ok else {}


def tend_check(repo):
    r = subprocess.run([tend, "check", repo], capture_output=True, text=True)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def measure(name, src):
    """One stack: a row (name, compose accepts, tend accepts, compose creates, tend creates, note)."""
    project = "c" + name.split("-", 1)[0]
    declared = re.search(r"^name:\s*['\"]?([a-z0-9][a-z0-9_.-]*)", open(os.path.join(src, "compose.yaml")).read(), re.M)
    if declared:
        project = declared.group(1)  # the folder must carry the file's own project name
    repo = os.path.join(work, "repo-" + name)
    os.makedirs(os.path.join(repo, "stacks"))
    with open(os.path.join(repo, "tend.toml"), "w") as f:
        f.write(f'[hosts.local]\ndocker = "{host}"\n')
    folder = os.path.join(repo, "stacks", project)
    copy_stack(src, folder)
    compose_copy = os.path.join(work, "compose-" + name, project)
    copy_stack(src, compose_copy)
    c_config = compose(compose_copy, project, "config", "-q")
    c_accepts = c_config.returncode == 0
    t_accepts, t_said = tend_check(repo)
    row = {"name": name, "compose_accepts": c_accepts, "tend_accepts": t_accepts, "note": ""}
    if c_accepts and not t_accepts:
        row["note"] = t_said.splitlines()[0] if t_said else "no message"
        row["unset_variable"] = "is not set" in t_said
        # A file the stack names (a Dockerfile, a secret) that its publisher
        # did not publish: tend is right to refuse; listed, not failed on.
        named = re.findall(r"`stacks/[^/`]+/([^`]+)` does not exist in the repository", t_said)
        errors = [l for l in t_said.splitlines() if ": error: " in l]
        row["unpublished_file"] = bool(named) and len(named) == len(errors) and \
            not any(os.path.exists(os.path.join(src, n)) for n in named)
    if not c_accepts and not t_accepts and not t_said:
        row["note"] = "tend refused without a message"
    if not (c_accepts and t_accepts):
        return row
    refs, services, nets, vols, start = resolved(compose(compose_copy, project, "config").stdout)
    stand_in(refs)
    externals(nets, vols)
    c_ok, c_why, c_shape = compose_creates(compose_copy, project, services, start)
    clean()
    externals(nets, vols)
    if MODE == "deploy":
        t_ok, t_why, t_shape = tend_deploys(repo, project, services, name)
    else:
        t_ok, t_why, t_shape = tend_creates(repo, project, services, start)
    clean()
    diff = differences(c_shape, t_shape) if c_ok and t_ok else {}
    if os.environ.get("CORPUS_DUMP"):  # both sides' fields, for a look at what differs
        with open(os.path.join(os.environ["CORPUS_DUMP"], name + ".json"), "w") as f:
            json.dump({"compose": c_shape, "tend": t_shape}, f, indent=1, sort_keys=True)
    row.update(compose_creates=c_ok, tend_creates=t_ok, same=sum(1 for d in diff.values() if not d),
               compared=len(diff))
    shown = {k: v for k, v in diff.items() if v}
    row["note"] = "; ".join(c_why + t_why) + (f" | services identical {row['same']}/{len(diff)}" +
                                               (f", differ: {shown}" if shown else "") if diff else "")
    return row


rows = []
budget = time.time() + int(os.environ.get("CORPUS_SECONDS", "1800"))
not_reached = 0
try:
    for name in sorted(os.listdir(corpus)):
        only = os.environ.get("CORPUS_ONLY")
        src = os.path.join(corpus, name)
        if (only and not any(name.startswith(p) for p in only.split(","))) or not os.path.isdir(src):
            continue
        if time.time() > budget:
            not_reached += 1
            continue
        r = measure(name, src)
        rows.append(r)
        made = "" if "compose_creates" not in r else \
            f", compose {'creates' if r['compose_creates'] else 'fails'}, tend {'creates' if r['tend_creates'] else 'fails'}"
        print(f"{name}: compose {'accepts' if r['compose_accepts'] else 'rejects'}, "
              f"tend {'accepts' if r['tend_accepts'] else 'rejects'}{made} {r['note']}", flush=True)
finally:
    clean()
    subprocess.run([f"{root}/scripts/dockerd", "stop", engine], env=env)

# A refusal that says "not supported yet" names a feature still to build
# (listed, not failed on); any other refusal of a file compose accepts fails.
pending = [r["name"] for r in rows if r["compose_accepts"] and not r["tend_accepts"] and "not supported yet" in r["note"]]
unpublished = [r["name"] for r in rows if r.get("unpublished_file")]
refused = [r["name"] for r in rows if r["compose_accepts"] and not r["tend_accepts"] and not r.get("unset_variable")
           and r["name"] not in pending and r["name"] not in unpublished]
unset = [r["name"] for r in rows if r.get("unset_variable")]
silent = [r["name"] for r in rows if r["note"] == "tend refused without a message"]
missing = [r["name"] for r in rows if r.get("compose_creates") and not r.get("tend_creates")]
same = sum(r.get("same", 0) for r in rows)
compared = sum(r.get("compared", 0) for r in rows)
least = float(os.environ.get("CORPUS_MIN_IDENTICAL", "0.98"))
print(f"corpus: {len(rows)} stacks ({MODE}); compose accepts {sum(r['compose_accepts'] for r in rows)}, "
      f"tend accepts {sum(r['tend_accepts'] for r in rows)}, both {sum(r['compose_accepts'] and r['tend_accepts'] for r in rows)}; "
      f"compose accepts and tend refuses: {', '.join(refused) or 'none'} (a variable set nowhere: {', '.join(unset) or 'none'}; "
      f"a feature not supported yet: {', '.join(pending) or 'none'}; "
      f"a file its publisher did not publish: {', '.join(unpublished) or 'none'}); "
      f"compose {MODE}s {sum(1 for r in rows if r.get('compose_creates'))}, tend {MODE}s "
      f"{sum(1 for r in rows if r.get('compose_creates') and r.get('tend_creates'))} of them; missing: {', '.join(missing) or 'none'}; "
      f"services identical to compose's on every compared field: {same} of {compared}; "
      f"not reached in the time budget: {not_reached}")
shutil.rmtree(work, ignore_errors=True)
bad = refused or silent or missing or (compared and same < least * compared)
sys.exit(1 if bad else 0)

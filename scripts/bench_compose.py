"""The compose corpus, side by side: which real-world stacks `tend check`
accepts, and of those, which ones the daemon deploys (every service's
container created and running) against which ones docker-compose 1.29
deploys from the same folder — on one private dockerd, one stack at a
time, images replaced by stand-ins tagged under each file's references
(busybox with an ENTRYPOINT that sleeps, so any `command:` keeps it up).

usage: bench_compose.py TEND CORPUS_DIR PYTHON_WITH_YAML
Prints one line per stack as it goes and a summary line; exits 1 when a
stack that compose deploys is not deployed by tend. CORPUS_SECONDS (default
1800) bounds the whole run: stacks not reached are counted as such;
CORPUS_ONLY=003,017 measures only the stacks whose folders start so.
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
host, env, engine = private_engine(work, "tendbr8", "10.218.0.1/24", "10.227.0.0/16")


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


def images(folder):
    """The image references of a compose file (plain YAML read, no interpolation)."""
    code = ("import sys, yaml, json; d = yaml.safe_load(open(sys.argv[1]));"
            "print(json.dumps(sorted({s.get('image') for s in (d.get('services') or {}).values() if s.get('image')})))")
    out = subprocess.run([sys.argv[3], "-c", code, os.path.join(folder, "compose.yaml")],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def stand_in(refs):
    if not docker("images", "-q", "tend-standin:latest"):
        cid = docker("create", "localhost/busybox:v1")
        docker("commit", "-c", 'ENTRYPOINT ["/bin/sh","-c","exec sleep 100000","x"]', "-c", "CMD []",
               cid, "tend-standin:latest")
        docker("rm", cid)
    for ref in refs:
        docker("tag", "tend-standin:latest", ref, check=False)


def external_networks(folder):
    """Creates the external networks a file names, as its user would have."""
    code = ("import sys, yaml, json; d = yaml.safe_load(open(sys.argv[1]));"
            "n = d.get('networks') or {};"
            "print(json.dumps([(v or {}).get('name', k) for k, v in n.items() if (v or {}).get('external')]))")
    out = subprocess.run([sys.argv[3], "-c", code, os.path.join(folder, "compose.yaml")],
                         capture_output=True, text=True, check=True).stdout
    for net in json.loads(out):
        docker("network", "create", net, check=False)


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
    out = {}
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
        out[service] = {k: v for k, v in f.items() if not empty(v)}
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


def compose_deploys(folder, project, services):
    try:
        r = subprocess.run(["docker-compose", "-p", project, "--project-directory", folder, "-f",
                            os.path.join(folder, "compose.yaml"), "up", "-d", "--no-build"],
                           capture_output=True, text=True, env=dict(COMPOSE_ENV, DOCKER_HOST=host), timeout=150)
    except subprocess.TimeoutExpired:
        r = subprocess.CompletedProcess([], 1, "", "docker-compose up took longer than 150 s")
    time.sleep(1)
    seen = running(project)
    ok = r.returncode == 0 and all(seen.get(s) == "running" for s in services)
    shape = fields(project, folder) if ok else {}
    subprocess.run(["docker-compose", "-p", project, "--project-directory", folder, "-f",
                    os.path.join(folder, "compose.yaml"), "down", "-v"],
                   capture_output=True, env=dict(COMPOSE_ENV, DOCKER_HOST=host), timeout=300)
    return ok, r.stderr.strip().splitlines()[-1:] if r.returncode else [], shape


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


rows, missing, identical = [], [], [0, 0]
budget = time.time() + int(os.environ.get("CORPUS_SECONDS", "1800"))
not_reached = 0
try:
    for name in sorted(os.listdir(corpus)):
        only = os.environ.get("CORPUS_ONLY")
        if only and not any(name.startswith(p) for p in only.split(",")):
            continue
        if time.time() > budget:
            not_reached += 1
            continue
        src = os.path.join(corpus, name)
        if not os.path.isdir(src):
            continue
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
        checked = subprocess.run([tend, "check", repo], capture_output=True, text=True).returncode == 0
        if not checked:
            rows.append((name, False, None, None, ""))
            continue
        refs = images(folder)
        stand_in(refs)
        services = list(json.loads(subprocess.run(
            [sys.argv[3], "-c", "import sys,yaml,json;print(json.dumps(list((yaml.safe_load(open(sys.argv[1])).get('services') or {}).keys())))",
             os.path.join(folder, "compose.yaml")], capture_output=True, text=True, check=True).stdout))
        compose_copy = os.path.join(work, "compose-" + name, project)
        copy_stack(src, compose_copy)
        external_networks(folder)
        c_ok, c_why, c_shape = compose_deploys(compose_copy, project, services)
        clean()
        external_networks(folder)
        t_ok, t_why, t_shape = tend_deploys(repo, project, services, name)
        clean()
        diff = differences(c_shape, t_shape) if c_ok and t_ok else {}
        same = sum(1 for d in diff.values() if not d)
        shown = {k: v for k, v in diff.items() if v}
        field_note = f" | services identical {same}/{len(diff)}" + (f", differ: {shown}" if shown else "") if diff else ""
        rows.append((name, True, c_ok, t_ok, "; ".join(c_why + t_why) + field_note))
        print(f"{name}: check ok, compose {'deploys' if c_ok else 'fails'}, tend {'deploys' if t_ok else 'fails'}"
              f" {rows[-1][4]}", flush=True)
        identical[0] += same
        identical[1] += len(diff)
        if c_ok and not t_ok:
            missing.append(name)
finally:
    clean()
    subprocess.run([f"{root}/scripts/dockerd", "stop", engine], env=env)

total = len(rows)
accepted = sum(1 for r in rows if r[1])
both = sum(1 for r in rows if r[1] and r[2])
tend_ok = sum(1 for r in rows if r[1] and r[2] and r[3])
print(f"corpus: {total} stacks, tend check accepts {accepted}; of those compose deploys {both}, "
      f"tend deploys {tend_ok} of them; missing: {', '.join(missing) or 'none'}; "
      f"services identical to compose's on every compared field: {identical[0]} of {identical[1]}; "
      f"not reached in the time budget: {not_reached}")
shutil.rmtree(work, ignore_errors=True)
sys.exit(1 if missing else 0)

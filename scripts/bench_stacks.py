"""Stacks benchmarks (issue 5), side by side on one private dockerd:

1. converge a 10-service stack from nothing: `tend apply` vs Debian's
   `docker-compose up -d` on the same compose file (runs interleaved);
2. a no-op reconcile: the converged 10-service stack (tend vs compose),
   and 50 stacks x 2 services with tend (mutating API calls must be 0);

usage: bench_stacks.py TEND RUNS
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

tend, runs = sys.argv[1], int(sys.argv[2])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="tend-bench-stacks-")
engine = os.path.join(work, "engine")
env = dict(os.environ, TEND_BRIDGE_CIDR="10.219.0.1/24", TEND_DOCKER_POOL="10.220.0.0/16", TEND_LOG="warn")
host = subprocess.run([f"{root}/scripts/dockerd", "start", engine, "tendbr9"], env=env,
                      check=True, capture_output=True, text=True).stdout.strip()
denv = dict(env, DOCKER_HOST=host, COMPOSE_INTERACTIVE_NO_CLI="1")


def docker(*args):
    return subprocess.run(["docker", "-H", host, *args], check=True, capture_output=True, text=True).stdout


def clean(project):
    label = f"label=com.docker.compose.project={project}"
    ids = docker("ps", "-aq", "--filter", label).split()
    if ids:
        docker("rm", "-f", *ids)
    nets = docker("network", "ls", "-q", "--filter", label).split()
    if nets:
        docker("network", "rm", *nets)


def service(name, deps):
    dep = "".join(f"\n      - {d}" for d in deps)
    return (f"  {name}:\n    image: localhost/busybox:v1\n    command: [\"sleep\", \"3600\"]\n"
            f"    init: true\n    environment:\n      NAME: {name}\n"
            + (f"    depends_on:{dep}\n" if deps else ""))


def ten_services():
    body = service("s01", [])
    body += "".join(service(f"s{i:02}", ["s01"]) for i in range(2, 6))
    body += "".join(service(f"s{i:02}", ["s02", "s03"]) for i in range(6, 11))
    return "services:\n" + body


def repo(path, stacks):
    os.makedirs(path)
    with open(f"{path}/tend.toml", "w") as f:
        f.write(f"[reconcile]\nprune = false\n\n[hosts.local]\ndocker = \"{host}\"\n")
    for name, text in stacks.items():
        os.makedirs(f"{path}/stacks/{name}")
        with open(f"{path}/stacks/{name}/compose.yaml", "w") as f:
            f.write(text)


def timed(cmd, cwd=None, environ=None):
    t = time.monotonic()
    out = subprocess.run(cmd, cwd=cwd, env=environ or env, capture_output=True, text=True)
    took = (time.monotonic() - t) * 1000
    if out.returncode != 0:
        raise SystemExit(f"{cmd} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return took, out.stdout


def show(label, times, unit="ms"):
    print(f"{label}: median {statistics.median(times):.0f} {unit}, min {min(times):.0f}, "
          f"max {max(times):.0f} ({len(times)} runs)")


try:
    one = os.path.join(work, "one")
    repo(one, {"bench": ten_services()})
    compose_file = f"{one}/stacks/bench/compose.yaml"
    compose_up = ["docker-compose", "-p", "benchc", "-f", compose_file, "up", "-d", "--quiet-pull"]
    tend_apply = [tend, "apply", one, "--format", "json"]
    c_times, t_times, calls = [], [], []
    for r in range(runs):
        pair = [("compose", compose_up, "benchc"), ("tend", tend_apply, "bench")]
        for name, cmd, project in (pair if r % 2 == 0 else pair[::-1]):
            took, out = timed(cmd, environ=denv)
            (c_times if name == "compose" else t_times).append(took)
            if name == "tend":
                calls.append(json.loads(out)["mutating_calls"])
            clean(project)
    show("converge 10 services from nothing — docker-compose up -d", c_times)
    show("converge 10 services from nothing — tend apply", t_times)
    print(f"ratio tend / compose (medians): {statistics.median(t_times) / statistics.median(c_times):.2f}; "
          f"tend mutating API calls per converge: {calls[0]}")

    timed(compose_up, environ=denv)
    timed(tend_apply)
    c_noop, t_noop = [], []
    for _ in range(runs):
        c_noop.append(timed(compose_up, environ=denv)[0])
        took, out = timed(tend_apply)
        assert json.loads(out)["mutating_calls"] == 0, out
        t_noop.append(took)
    show("no-op, 10 services in sync — docker-compose up -d", c_noop)
    show("no-op, 10 services in sync — tend apply (0 mutating calls)", t_noop)
    clean("benchc")
    clean("bench")

    many = os.path.join(work, "many")
    two = "services:\n" + service("web", []) + service("worker", ["web"])
    repo(many, {f"s{i:02}": two for i in range(50)})
    t = time.monotonic()
    timed([tend, "apply", many])
    print(f"converge 50 stacks x 2 services (once): {(time.monotonic() - t):.1f} s")
    noop, plans, inside = [], [], []
    for _ in range(runs * 2):
        took, out = timed([tend, "apply", many, "--format", "json"])
        result = json.loads(out)
        assert result["mutating_calls"] == 0 and not result["plan"]["stacks"][0]["changes"], out
        noop.append(took)
        inside.append((result["observe_and_plan_seconds"] + result["seconds"]) * 1000)
        plans.append(timed([tend, "plan", many])[0])
    show("no-op reconcile, 50 stacks x 2 services — tend apply, whole process (0 mutating calls)", noop)
    show("no-op reconcile, 50 stacks x 2 services — observe + plan + apply inside tend apply", inside)
    show("tend plan, 50 stacks x 2 services in sync, whole process", plans)
    for i in range(50):
        clean(f"s{i:02}")
finally:
    subprocess.run([f"{root}/scripts/dockerd", "stop", engine], env=env)
    shutil.rmtree(work, ignore_errors=True)

"""Working directories (issue 14), side by side in one run:

1. `tend check` on the generated repository (1,000 jobs, 200 stacks):
   the release before working directories (OLD) against this one (NEW);
2. `tend plan` and a no-op `tend apply` on 50 stacks x 2 services, each
   stack with a `./conf` bind of 20 tracked files and a `./data` bind,
   OLD against NEW;
3. the daemon (NEW) on the same 50 stacks, its working directories under
   --stacks-dir: after it converged, several no-op passes — engine events
   seen (must be 0), files written under the stacks dir (must be 0), the
   mean pass time from /metrics — beside docker-compose `up -d` on the
   same 50 folders (its no-op).

usage: bench_workdir.py OLD NEW RUNS
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import private_engine  # noqa: E402

old, new, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
work = tempfile.mkdtemp(prefix="tend-bench-wd-")
host, env, engine = private_engine(work, "tendbr7", "10.211.0.1/24", "10.228.0.0/16")


def run(cmd, ok=(0,)):
    t = time.monotonic()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = (time.monotonic() - t) * 1000
    if out.returncode not in ok:
        raise SystemExit(f"{cmd} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return took


def side_by_side(label, a, b):
    """Runs the commands a (OLD) and b (NEW) interleaved, `runs` times each."""
    ta, tb = [], []
    for r in range(runs):
        for which, cmd in ((("old", a), ("new", b)) if r % 2 == 0 else (("new", b), ("old", a))):
            (ta if which == "old" else tb).append(run(cmd))
    ma, mb = statistics.median(ta), statistics.median(tb)
    print(f"{label}: OLD median {ma:.1f} ms (min {min(ta):.1f}), NEW median {mb:.1f} ms "
          f"(min {min(tb):.1f}); NEW/OLD {mb / ma:.2f} ({runs} runs each)")


def stacks_repo(path):
    os.makedirs(path)
    with open(f"{path}/tend.toml", "w") as f:
        f.write(f"[reconcile]\nprune = false\ninterval = \"2s\"\n\n[hosts.local]\ndocker = \"{host}\"\n")
    svc = ("  {n}:\n    image: localhost/busybox:v1\n    command: [sleep, \"3600\"]\n    init: true\n"
           "    volumes: [./conf:/conf, ./data:/data]\n")
    for i in range(50):
        d = f"{path}/stacks/s{i:02}"
        os.makedirs(f"{d}/conf/sub")
        with open(f"{d}/compose.yaml", "w") as f:
            f.write("services:\n" + svc.format(n="web") + svc.format(n="worker"))
        for j in range(20):
            with open(f"{d}/conf/{'sub/' if j % 2 else ''}f{j}.conf", "w") as f:
                f.write(f"# file {j}\n" + "x" * 1000 + "\n")


def mtimes(path):
    out = {}
    for base, _, files in os.walk(path):
        for name in files:
            p = os.path.join(base, name)
            out[p] = os.stat(p).st_mtime_ns
    return out


def metric(addr, name):
    text = urllib.request.urlopen(f"http://{addr}/metrics", timeout=5).read().decode()
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def synced(addr):
    import json
    stacks = json.loads(urllib.request.urlopen(f"http://{addr}/api/v1/stacks", timeout=5).read())["stacks"]
    return len(stacks) == 50 and all(s["sync"] == "synced" for s in stacks)


proc = None
try:
    big = os.path.join(work, "big")
    subprocess.run([sys.executable, f"{root}/scripts/gen-repo.py", big, "1000", "200"], check=True,
                   capture_output=True)
    side_by_side("tend check, 1,000 jobs + 200 stacks", [old, "check", big], [new, "check", big])

    cli = os.path.join(work, "cli")
    stacks_repo(cli)
    run([new, "apply", cli])
    side_by_side("tend plan, 50 stacks x 2 services with binds, in sync", [old, "plan", cli], [new, "plan", cli])
    side_by_side("tend apply, the same, no-op", [old, "apply", cli], [new, "apply", cli])
    ids = subprocess.run(["docker", "-H", host, "ps", "-aq"], capture_output=True, text=True).stdout.split()
    subprocess.run(["docker", "-H", host, "rm", "-f", *ids], capture_output=True)

    repo = os.path.join(work, "repo")
    stacks_repo(repo)
    data, stacks_dir = os.path.join(work, "data"), os.path.join(work, "stacks")
    addr = "127.0.0.1:18597"
    log = open(os.path.join(work, "tend.log"), "w")
    proc = subprocess.Popen([new, "run", "--source", repo, "--data", data, "--stacks-dir", stacks_dir,
                             "--listen", addr], stdout=subprocess.DEVNULL, stderr=log, env=env)
    t = time.monotonic()
    while time.monotonic() - t < 180:
        time.sleep(0.5)
        try:
            if synced(addr):
                break
        except OSError:
            continue
    print(f"daemon: 50 stacks x 2 services converged with working directories in {time.monotonic() - t:.1f} s")
    time.sleep(3)
    before_files, since = mtimes(stacks_dir), str(int(time.time()))
    count0 = metric(addr, "tend_reconcile_duration_seconds_count")
    sum0 = metric(addr, "tend_reconcile_duration_seconds_sum")
    time.sleep(12)
    count = metric(addr, "tend_reconcile_duration_seconds_count") - count0
    took = metric(addr, "tend_reconcile_duration_seconds_sum") - sum0
    until = str(int(time.time()))
    events = subprocess.run(["docker", "-H", host, "events", "--since", since, "--until", until],
                            capture_output=True, text=True).stdout.strip().splitlines()
    after_files = mtimes(stacks_dir)
    written = sum(1 for p, m in after_files.items() if before_files.get(p) != m)
    print(f"daemon no-op passes: {count:.0f} in 12 s, mean {1000 * took / max(count, 1):.1f} ms per pass "
          f"(50 stacks, {len(after_files)} files in working directories); engine events: {len(events)}; "
          f"files written: {written}")
    proc.terminate()
    proc.wait(timeout=20)
    proc = None

    denv = dict(env, DOCKER_HOST=host)
    compose = []
    for r in range(min(runs, 3)):
        t = time.monotonic()
        for i in range(50):
            d = f"{cli}/stacks/s{i:02}"
            subprocess.run(["docker-compose", "-p", f"c{i:02}", "--project-directory", d, "-f",
                            f"{d}/compose.yaml", "up", "-d"], env=denv, capture_output=True, check=True)
        compose.append((time.monotonic() - t) * 1000)
    print(f"docker-compose up -d over the same 50 folders: first {compose[0]:.0f} ms (converge), "
          f"no-op median {statistics.median(compose[1:] or compose):.0f} ms")
finally:
    if proc:
        proc.terminate()
    ids = subprocess.run(["docker", "-H", host, "ps", "-aq"], capture_output=True, text=True).stdout.split()
    if ids:
        subprocess.run(["docker", "-H", host, "rm", "-f", *ids], capture_output=True)
    subprocess.run([f"{root}/scripts/dockerd", "stop", engine], env=env)
    shutil.rmtree(work, ignore_errors=True)

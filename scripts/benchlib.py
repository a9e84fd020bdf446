"""Helpers shared by tend's benchmark scripts (bench_daemon.py, bench_jobs.py, bench_alerts.py, bench_locks.py)."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from datetime import datetime


def ts(s):
    """An RFC 3339 time from the API as a Unix timestamp (seconds)."""
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def pct(xs, q):
    """The q-quantile (0..1) of xs, nearest rank."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round((len(xs) - 1) * q)))]


def cron_lags(port, jobs=None):
    """Firing lags in ms (process started minus scheduled instant) of every
    cron run recorded, all pages; only of `jobs` when given."""
    lags, before = [], ""
    while True:
        page = call(port, f"/api/v1/runs?limit=1000{before}")
        for r in page["runs"]:
            if r["trigger"] == "cron" and r["started_at"] and r["scheduled_for"] and (jobs is None or r["job"] in jobs):
                lags.append((ts(r["started_at"]) - ts(r["scheduled_for"])) * 1000)
        if not page["next_before"]:
            return lags
        before = f"&before={page['next_before']}"


def free_port():
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, path, method="GET", token=None, body=None, headers=None):
    """One request to tend's API on 127.0.0.1:port; the JSON answer."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=h)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def wait(cond, limit=30.0, step=0.002):
    """Polls cond() every `step` s until it holds or `limit` s pass."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            if cond():
                return True
        except OSError:
            pass
        time.sleep(step)
    return False


def rss_mb(pid):
    """Resident memory of a process, in MB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Tend:
    """`tend run` on a free port of 127.0.0.1, ready (`/readyz`) when made."""

    def __init__(self, binary, source, data, extra=(), log="warn"):
        self.port = free_port()
        args = [binary, "run", "--source", source, "--data", data,
                "--listen", f"127.0.0.1:{self.port}", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, TEND_LOG=log))
        assert wait(lambda: call(self.port, "/readyz")["ready"], 60), "tend did not get ready"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def private_engine(work, bridge, cidr, pool):
    """Starts a private dockerd under `work/engine` on `bridge`; returns
    (socket URL, the environment it was started with, its folder)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, TEND_BRIDGE_CIDR=cidr, TEND_DOCKER_POOL=pool, TEND_LOG="warn")
    engine = os.path.join(work, "engine")
    host = subprocess.run([f"{root}/scripts/dockerd", "start", engine, bridge], env=env,
                          check=True, capture_output=True, text=True).stdout.strip()
    return host, env, engine

"""Helpers shared by tend's benchmark scripts (bench_daemon.py, bench_jobs.py)."""
import json
import os
import socket
import time
import urllib.request


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

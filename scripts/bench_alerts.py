#!/usr/bin/env python3
"""Notification benchmarks (issue 7), run by scripts/bench.

usage: bench_alerts.py TEND_BINARY [SECONDS] [ROUNDS]

  1. failure -> request at the receiver: 5 jobs fail every second for
     SECONDS (default 20) with `repeat = "1ms"` (every failure is sent) to
     a JSON receiver on 127.0.0.1; latency = arrival time minus the run's
     `finished_at`. Goal: p50 under 200 ms.
  2. firing lag of 10 every-second jobs (process spawned minus scheduled
     instant) for SECONDS, ROUNDS (default 3) times each, interleaved:
     with an empty outbox; with 1,000+ queued alerts to a receiver that
     refuses connections (retried every 100 ms and up); and with the same
     queue to a receiver that accepts and never answers (10 s timeouts).
     Goal: lag p99 unchanged within noise.
Prints Markdown table rows.
"""
import json, os, re, shutil, signal, socket, statistics, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Tend, call, free_port, pct, ts, wait  # noqa: E402

TEND = sys.argv[1]
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 20
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3


class Receiver:
    """A JSON webhook receiver that notes when each request arrived."""

    def __init__(self):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                seen.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Hanging:
    """Accepts connections on `port` and never answers."""

    def __init__(self, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1024)
        self.held = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def launch(repo, data, backoff="100ms"):
    return Tend(TEND, repo, data, ["--notify-backoff", backoff], log="error")


def repo(folder, rule_port, jobs):
    """A config folder: one JSON rule to rule_port, and `jobs` (name, command)."""
    os.makedirs(os.path.join(folder, "jobs"), exist_ok=True)
    with open(os.path.join(folder, "tend.toml"), "w") as f:
        f.write(f'[[notify]]\nurl = "json://127.0.0.1:{rule_port}/hook"\non = ["failure"]\nrepeat = "1ms"\n')
    with open(os.path.join(folder, "jobs", "bench.yaml"), "w") as f:
        f.write("jobs:\n")
        for name, command in jobs:
            f.write(f'  - name: {name}\n    schedule: "* * * * * *"\n    command: {json.dumps(command)}\n'
                    "    concurrency: allow\n")
    return folder


def latency(tmp):
    rec = Receiver()
    folder = repo(os.path.join(tmp, "latency"), rec.port, [(f"fail-{i}", ["sh", "-c", "exit 1"]) for i in range(5)])
    tend = launch(folder, os.path.join(tmp, "latency-data"))
    time.sleep(SECONDS)
    tend_port = tend.port
    time.sleep(1)
    out = []
    for arrived, body in list(rec.seen):
        m = re.search(r"run (\d+) of", body["message"])
        run = call(tend_port, f"/api/v1/runs/{m.group(1)}")
        out.append((arrived - ts(run["finished_at"])) * 1000)
    tend.stop()
    rec.server.shutdown()
    print(f"| failure -> request at the receiver ({len(out)} alerts, 5 jobs failing every second) "
          f"| p50 {pct(out, .5):.1f} ms | p90 {pct(out, .9):.1f} ms | p99 {pct(out, .99):.1f} ms | max {max(out):.1f} ms |")


def fill(tmp, port):
    """A data dir with 1,000+ alerts queued to `port` (held by a hanging receiver)."""
    hang = Hanging(port)
    folder = repo(os.path.join(tmp, "fill"), port, [(f"fail-{i}", ["sh", "-c", "exit 1"]) for i in range(50)])
    data = os.path.join(tmp, "filled")
    tend = launch(folder, data, backoff="1h")
    ok = wait(lambda: len(call(tend.port, "/api/v1/notifications?state=pending&limit=1000")["notifications"]) >= 1000,
              120, 0.5)
    tend.stop()
    hang.close()
    assert ok, "the outbox did not reach 1,000 alerts"
    return data


def lag(tmp, data, port, label, n):
    folder = repo(os.path.join(tmp, f"lag-{label}-{n}"), port, [(f"ok-{i}", ["true"]) for i in range(10)])
    tend = launch(folder, data)
    start = time.time()
    time.sleep(SECONDS)
    lags = []
    for i in range(10):
        for r in call(tend.port, f"/api/v1/runs?job=ok-{i}&limit=1000")["runs"]:
            if r.get("started_at") and r.get("scheduled_for") and ts(r["scheduled_for"]) >= start + 1:
                lags.append((ts(r["started_at"]) - ts(r["scheduled_for"])) * 1000)
    metrics = call_text(tend.port, "/metrics")
    attempts = sum(int(float(v)) for v in re.findall(r'^tend_notifications_total\{[^}]*\} (\S+)$', metrics, re.M))
    pending = len(call(tend.port, "/api/v1/notifications?state=pending&limit=1000")["notifications"])
    tend.stop()
    return lags, attempts, pending


def call_text(port, path):
    import urllib.request
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def main():
    tmp = tempfile.mkdtemp(prefix="tend-bench-alerts-")
    try:
        latency(tmp)
        port = free_port()
        filled = fill(tmp, port)
        results = {"empty outbox": [], "1,000 queued, receiver refuses": [], "1,000 queued, receiver hangs": []}
        for n in range(ROUNDS):
            for k, label in enumerate(results):
                data = os.path.join(tmp, f"data-{n}-{k}")
                hang = None
                if label == "empty outbox":
                    os.makedirs(data)
                else:
                    shutil.copytree(filled, data)
                if "hangs" in label:
                    hang = Hanging(port)
                results[label].append(lag(tmp, data, port, str(k), n))
                if hang:
                    hang.close()
        for label, rounds in results.items():
            p50s = [pct(l, .5) for l, _, _ in rounds]
            p99s = [pct(l, .99) for l, _, _ in rounds]
            runs = sum(len(l) for l, _, _ in rounds)
            attempts = statistics.median(a for _, a, _ in rounds)
            pending = statistics.median(p for _, _, p in rounds)
            print(f"| firing lag, 10 jobs every second, {label} ({runs} runs, {ROUNDS} rounds of {SECONDS} s; "
                  f"median {attempts:.0f} delivery attempts per round, {pending:.0f} still pending at the end) "
                  f"| p50 median {statistics.median(p50s):.1f} ms | p99 median {statistics.median(p99s):.1f} ms "
                  f"(rounds {', '.join(f'{x:.1f}' for x in p99s)}) |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

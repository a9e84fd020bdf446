#!/usr/bin/env python3
"""The status page under load: wrk (100 connections, 10 s, loopback) against
a real `tend run` while jobs run.

usage: bench_web.py TEND DATA_DIR [ROUNDS]
DATA_DIR holds a tend.redb filled by `TEND_BENCH_STORE=DATA_DIR/tend.redb
cargo bench --bench dashboard` (100,000 runs of job-0000…job-0199). The
config is scripts/gen-repo.py with 200 jobs and 50 stacks (their engines
are not reachable here: the stacks show `unknown`) plus 10 jobs that run
every second for 0.3 s each. Prints p50/p99 latency, requests/s and errors
per round and the median over rounds, and the page weight.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import urllib.request

from benchlib import call, free_port, wait

TEND, DATA = sys.argv[1], sys.argv[2]
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    return float(m.group(1)) * UNIT[m.group(2)]


def wrk(url, headers):
    extra = [a for h in headers for a in ("-H", h)]
    out = subprocess.run(["wrk", "-t1", "-c100", "-d10s", "--latency", *extra, url],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "p50": ms(lat["50"]),
        "p99": ms(lat["99"]),
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
    }


def runs_of_live_jobs(port):
    return sum(len(call(port, f"/api/v1/runs?job=live-{i}&limit=1000")["runs"]) for i in range(10))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "repo")
        subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "gen-repo.py"),
                        repo, "200", "50"], check=True)
        lines = ["jobs:"]
        for i in range(10):
            lines += [f"  - name: live-{i}", '    schedule: "* * * * * *"',
                      "    command: [sh, -c, 'echo tick; sleep 0.3']"]
        with open(os.path.join(repo, "jobs", "live.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
        port = free_port()
        proc = subprocess.Popen([TEND, "run", "--source", repo, "--data", DATA,
                                 "--listen", f"127.0.0.1:{port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ok = wait(lambda: call(port, "/api/v1/status")["source"]["applied_commit"], 60, 0.1)
            assert ok, "tend did not apply the generated repository"
            for enc in ["identity", "gzip"]:
                weight = 0
                for path in ["/", "/assets/tend.css", "/assets/tend.js"]:
                    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                 headers={"Accept-Encoding": enc})
                    with urllib.request.urlopen(req, timeout=10) as r:
                        weight += len(r.read())
                print(f"page weight of / with 210 jobs and 50 stacks (HTML + CSS + JS, {enc}): {weight} bytes")
            cases = [("/", []), ("/", ["Accept-Encoding: gzip"]), ("/api/v1/jobs", [])]
            for path, headers in cases:
                label = f"GET {path}" + (" (gzip)" if headers else "")
                rounds = []
                for _ in range(ROUNDS):
                    before = runs_of_live_jobs(port)
                    r = wrk(f"http://127.0.0.1:{port}{path}", headers)
                    r["runs"] = runs_of_live_jobs(port) - before
                    rounds.append(r)
                    print(f"  {label}: p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms, "
                          f"{r['rps']:.0f} req/s, {r['errors']} errors, {r['runs']} job runs meanwhile")
                med = lambda k: statistics.median(x[k] for x in rounds)
                print(f"{label} (wrk -t1 -c100 -d10s, {ROUNDS} rounds): median p50 {med('p50'):.2f} ms, "
                      f"median p99 {med('p99'):.2f} ms (max {max(x['p99'] for x in rounds):.2f}), "
                      f"{med('rps'):.0f} req/s, errors {sum(x['errors'] for x in rounds)}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


main()

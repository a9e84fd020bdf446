#!/usr/bin/env python3
"""Scheduler and runner benchmarks (issue 4), run by scripts/bench.

usage: bench_jobs.py TEND_BINARY ANSIBLE_PLAYBOOK [SECONDS]

  1. firing lag (process spawned minus scheduled instant) of cron runs with
     1,000 jobs loaded, over SECONDS (default 75): once with one job due per
     second, once with all 1,000 due once a minute (~17 at each second)
  2. RSS of `tend run` with 10,000 jobs loaded
  3. tend's overhead over running the same ansible-playbook bare: median
     wall time of 20 bare runs vs 20 runs triggered through tend's API,
     interleaved
Prints Markdown table rows.
"""
import json, os, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.request

TEND, ANSIBLE = sys.argv[1], sys.argv[2]
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 75
RUNS = 30
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Tend, call, cron_lags, free_port, pct, rss_mb, wait  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))











def launch(tmp, source, extra=()):
    """`tend run` on `source` with a data folder of its own under tmp."""
    return Tend(TEND, source, tempfile.mkdtemp(prefix="data-", dir=tmp), extra)


def write_jobs(folder, count, schedule):
    os.makedirs(os.path.join(folder, "jobs"), exist_ok=True)
    per = 500
    for f in range(0, count, per):
        with open(os.path.join(folder, "jobs", f"j{f:05}.yaml"), "w") as out:
            out.write("jobs:\n")
            for i in range(f, min(count, f + per)):
                out.write(f"  - name: job-{i:05}\n    schedule: \"{schedule(i)}\"\n    command: [\"true\"]\n    concurrency: allow\n")


def main():
    tmp = tempfile.mkdtemp(prefix="tend-bench-jobs-")
    try:
        def lag_run(name, schedule):
            lag_dir = os.path.join(tmp, name)
            write_jobs(lag_dir, 1000, schedule)
            tend = launch(tmp, lag_dir)
            time.sleep(SECONDS)
            lags = cron_lags(tend.port)
            tend.stop()
            return lags

        # 1,000 jobs loaded; one fires each second (the rest once a year).
        lags = lag_run("lag1", lambda i: f"{i} * * * * *" if i < 60 else f"{i % 60} {i % 24} {1 + i % 28} 1 *")
        print(f"| firing lag, 1,000 jobs loaded, one due per second ({len(lags)} runs over {SECONDS} s) | p50 {pct(lags, .5):.1f} ms | p99 {pct(lags, .99):.1f} ms | max {max(lags):.1f} ms |")
        # 1,000 jobs all firing once a minute: ~17 processes start at each second.
        lags = lag_run("lag17", lambda i: f"{i % 60} * * * * *")
        print(f"| firing lag, 1,000 jobs loaded, ~17 due at each second ({len(lags)} runs over {SECONDS} s) | p50 {pct(lags, .5):.1f} ms | p99 {pct(lags, .99):.1f} ms | max {max(lags):.1f} ms |")

        big_dir = os.path.join(tmp, "big")
        write_jobs(big_dir, 10000, lambda i: f"{i % 60} {i % 24} 1 1 *")
        tend = launch(tmp, big_dir)
        time.sleep(3)
        print(f"| RSS with 10,000 jobs loaded | {rss_mb(tend.proc.pid):.1f} MB | | |")
        tend.stop()

        repo = os.path.join(tmp, "ansible")
        shutil.copytree(os.path.join(ROOT, "tests", "fixtures", "ansible-repo"), repo)
        token = os.path.join(tmp, "token")
        open(token, "w").write("tok")
        env = dict(PATH=os.environ["PATH"], HOME=os.environ.get("HOME", "/"), LANG="C.UTF-8",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=os.path.join(tmp, "ah"), ANSIBLE_LOCAL_TEMP=os.path.join(tmp, "at"))
        tend = launch(tmp, repo, ["--api-token-file", token, "--ansible-playbook", ANSIBLE])
        bare, via = [], []
        # Interleaved, so drift of the shared machine hits both sides alike.
        for i in range(2 + RUNS):
            t0 = time.monotonic()
            subprocess.run([ANSIBLE, "playbooks/ok.yml", "-i", "inventory/local.yml", "-e", '{"greeting":"bench"}'],
                           cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
            t1 = time.monotonic()
            run = call(tend.port, "/api/v1/jobs/ok/run", "POST", "tok")["run"]
            assert wait(lambda: call(tend.port, f"/api/v1/runs/{run}")["status"] == "succeeded", 60, 0.02)
            t2 = time.monotonic()
            if i >= 2:  # the first two warm caches up
                bare.append((t1 - t0) * 1000)
                via.append((t2 - t1) * 1000)
        tend.stop()
        b, v = statistics.median(bare), statistics.median(via)
        print(f"| ansible-playbook bare ({RUNS} runs, interleaved) | median {b:.0f} ms | min {min(bare):.0f} | max {max(bare):.0f} |")
        print(f"| same playbook through tend: API trigger → recorded result ({RUNS} runs) | median {v:.0f} ms | min {min(via):.0f} | max {max(via):.0f} |")
        diffs = [t - r for t, r in zip(via, bare)]
        print(f"| tend's overhead: median of paired differences (tend − bare) | {statistics.median(diffs):.0f} ms | p25 {pct(diffs, .25):.0f} | p75 {pct(diffs, .75):.0f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


main()

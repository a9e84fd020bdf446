#!/usr/bin/env python3
"""Firing lag with shared locks and chains loaded (issue 22), run by scripts/bench.

usage: bench_locks.py TEND_BINARY [SECONDS] [ROUNDS]
       (BENCH_OLD=<an older tend binary> adds its plain lag, in the same rounds)

Two configurations, interleaved ROUNDS times (default 3) for SECONDS each
(default 40), so the shared machine's drift hits both alike:
  plain   1,000 jobs loaded, one due per second (bench_jobs.py's lag1)
  unlocked  the same plus the 100 jobs of `loaded` with neither `lock` nor
          `after` (chain members on their root's schedule): the same
          processes, so it tells the cost of the load from that of the
          locks and chains
  loaded  the same 1,000 plus 100 locked and chained jobs at work: 50 that
          share 10 locks (5 each, every 10 s, `sleep 0.2`, so they queue
          and wait) and 10 chains of 5 (`after`), each chain started every
          5 s
The lag (process started minus scheduled instant) is measured on the same
60 one-per-second jobs in both. Prints the median over rounds of each
round's p50 and p99.
"""
import os, shutil, statistics, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Tend, cron_lags, pct  # noqa: E402

TEND = sys.argv[1]
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 40
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
MEASURED = {f"job-{i:05}" for i in range(60)}


def write(folder, loaded, locks=True):
    os.makedirs(os.path.join(folder, "jobs"))
    with open(os.path.join(folder, "jobs", "plain.yaml"), "w") as out:
        out.write("jobs:\n")
        for i in range(1000):
            when = f"{i} * * * * *" if i < 60 else f"{i % 60} {i % 24} {1 + i % 28} 1 *"
            out.write(f"  - {{ name: job-{i:05}, schedule: '{when}', command: ['true'], concurrency: allow }}\n")
    if not loaded:
        return
    with open(os.path.join(folder, "jobs", "locked.yaml"), "w") as out:
        out.write("jobs:\n")
        for i in range(50):
            lock = f", lock: l{i % 10}" if locks else ""
            out.write(f"  - {{ name: locked-{i:02}, schedule: '{i % 10}-59/10 * * * * *', command: [sleep, '0.2']{lock}, concurrency: allow, timeout: 30s }}\n")
        for c in range(10):
            out.write(f"  - {{ name: chain-{c}-0, schedule: '{c % 5}-59/5 * * * * *', command: ['true'], concurrency: allow }}\n")
            for k in range(1, 5):
                when = f"after: [chain-{c}-{k - 1}]" if locks else f"schedule: '{c % 5}-59/5 * * * * *'"
                out.write(f"  - {{ name: chain-{c}-{k}, {when}, command: ['true'], concurrency: allow }}\n")


def round_lags(tmp, name, kind, binary=TEND):
    folder = os.path.join(tmp, name)
    write(folder, kind in ("loaded", "unlocked"), kind == "loaded")
    tend = Tend(binary, folder, tempfile.mkdtemp(prefix="data-", dir=tmp))
    time.sleep(SECONDS)
    lags = cron_lags(tend.port, MEASURED)
    tend.stop()
    return lags


def main():
    tmp = tempfile.mkdtemp(prefix="tend-bench-locks-")
    try:
        old = os.environ.get("BENCH_OLD")
        kinds = (["old"] if old else []) + ["plain", "unlocked", "loaded"]
        got = {k: [] for k in kinds}
        for r in range(ROUNDS):
            for kind in kinds:
                binary = old if kind == "old" else TEND
                lags = round_lags(tmp, f"{kind}-{r}", kind, binary)
                got[kind].append((pct(lags, .5), pct(lags, .99), len(lags)))
        labels = {"old": "1,000 jobs, one due per second, BENCH_OLD binary",
                  "plain": "1,000 jobs, one due per second",
                  "unlocked": "the same + the 100 jobs below without `lock` and `after` (each chain member on its root's schedule): the same processes",
                  "loaded": "the same + 50 locked (10 locks) and 50 chained jobs at work"}
        for kind in kinds:
            label = labels[kind]
            rounds = got[kind]
            p50 = statistics.median(x[0] for x in rounds)
            p99 = statistics.median(x[1] for x in rounds)
            runs = sum(x[2] for x in rounds)
            each = ", ".join(f"{x[1]:.1f}" for x in rounds)
            print(f"| firing lag, {label} ({runs} runs, {ROUNDS} rounds × {SECONDS} s) | p50 {p50:.1f} ms | p99 {p99:.1f} ms (rounds {each}) |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Daemon benchmarks (issue 3), run by scripts/bench with the release binary.

usage: bench_daemon.py TEND_BINARY [PUSHES]

Against a real `git daemon` on 127.0.0.1 serving a copy of example-repo:
  1. push -> signed webhook -> applied_commit on /api/v1/status (PUSHES times)
  2. push -> 1 s poll, no webhook -> applied_commit (PUSHES/2 times)
  3. CPU per poll that finds nothing new (tend), next to `git fetch` (git CLI)
  4. idle RSS of `tend run`
Prints a Markdown table of medians and spreads.
"""
import hashlib, hmac, json, os, resource, shutil, signal, socket, statistics, subprocess, sys, tempfile, time
import urllib.request

TEND = sys.argv[1]
PUSHES = int(sys.argv[2]) if len(sys.argv) > 2 else 20
SECRET = b"bench-secret"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import call, free_port, rss_mb, wait  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(*args, cwd=None):
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="b@tend.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="b@tend.invalid")
    return subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()











def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")





def stats(xs):
    return statistics.median(xs), min(xs), max(xs)


class Tend:
    def __init__(self, work, url, extra):
        self.port = free_port()
        self.log = open(os.path.join(work, f"tend-{self.port}.log"), "w")
        args = [TEND, "run", "--source", url, "--data", os.path.join(work, f"data-{self.port}"),
                "--listen", f"127.0.0.1:{self.port}"] + extra
        env = dict(os.environ, TEND_LOG="warn,tend::reconcile=debug", NO_COLOR="1")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        assert wait(lambda: call(self.port, "/readyz")["ready"], 30), "tend did not get ready"

    def applied(self):
        return call(self.port, "/api/v1/status")["source"]["applied_commit"]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)


def push(work, i):
    with open(os.path.join(work, "jobs", "bench.yaml"), "w") as f:
        f.write(f"jobs:\n  - name: bench-{i}\n    command: [echo, '{i}']\n")
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", f"bench {i}", cwd=work)
    sh("git", "push", "-q", "origin", "HEAD:main", cwd=work)
    return sh("git", "rev-parse", "HEAD", cwd=work)


def webhook(port):
    body = b'{"ref":"refs/heads/main"}'
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    call(port, "/hooks/git", "POST", body=body, headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"})


def main():
    tmp = tempfile.mkdtemp(prefix="tend-bench-")
    gitd = None
    try:
        sh("git", "init", "-q", "--bare", "-b", "main", "remote.git", cwd=tmp)
        sh("git", "clone", "-q", "remote.git", "work", cwd=tmp)
        work = os.path.join(tmp, "work")
        shutil.copytree(os.path.join(ROOT, "example-repo"), work, dirs_exist_ok=True)
        sh("git", "checkout", "-q", "-b", "main", cwd=work)
        sh("git", "add", "-A", cwd=work)
        sh("git", "commit", "-q", "-m", "initial", cwd=work)
        sh("git", "push", "-q", "origin", "HEAD:main", cwd=work)
        port = free_port()
        gitd = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr", "--listen=127.0.0.1",
                                 f"--port={port}", f"--base-path={tmp}", tmp],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait(lambda: socket.create_connection(("127.0.0.1", port), 1).close() is None, 10)
        url = f"git://127.0.0.1:{port}/remote.git"
        secret = os.path.join(tmp, "secret")
        open(secret, "wb").write(SECRET)

        tend = Tend(tmp, url, ["--poll-interval", "1h", "--webhook-secret-file", secret])
        time.sleep(3)
        idle_rss = rss_mb(tend.proc.pid)
        hook = []
        for i in range(PUSHES):
            commit = push(work, i)
            t0 = time.monotonic()
            webhook(tend.port)
            assert wait(lambda: tend.applied() == commit), "webhook push not applied"
            hook.append((time.monotonic() - t0) * 1000)
        tend.stop()

        tend = Tend(tmp, url, ["--poll-interval", "1s"])
        poll = []
        for i in range(PUSHES, PUSHES + max(5, PUSHES // 2)):
            commit = push(work, i)
            t0 = time.monotonic()
            assert wait(lambda: tend.applied() == commit, step=0.01), "polled push not applied"
            poll.append((time.monotonic() - t0) * 1000)
        # Idle polls: CPU per poll that finds nothing new.
        time.sleep(2)
        log = tend.log.name
        before_polls = open(log).read().count("nothing new")
        before_cpu = cpu_seconds(tend.proc.pid)
        time.sleep(20)
        polls = open(log).read().count("nothing new") - before_polls
        tend_cpu_ms = (cpu_seconds(tend.proc.pid) - before_cpu) * 1000 / max(polls, 1)
        tend.stop()

        clone = os.path.join(tmp, "peer")
        sh("git", "clone", "-q", url, clone)
        git_cpu = []
        for _ in range(20):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            sh("git", "fetch", "-q", "origin", cwd=clone)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            git_cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)

        h, p, g = stats(hook), stats(poll), stats(git_cpu)
        print(f"| push → webhook → applied (git daemon, {len(hook)} pushes) | p50 {h[0]:.0f} ms | min {h[1]:.0f} | max {h[2]:.0f} |")
        print(f"| push → 1 s poll → applied ({len(poll)} pushes) | p50 {p[0]:.0f} ms | min {p[1]:.0f} | max {p[2]:.0f} |")
        print(f"| CPU per poll with nothing new: tend ({polls} polls) | {tend_cpu_ms:.2f} ms | | |")
        print(f"| CPU per no-op `git fetch` (git CLI, 20 runs) | median {g[0]:.2f} ms | min {g[1]:.2f} | max {g[2]:.2f} |")
        print(f"| idle RSS of `tend run` on example-repo | {idle_rss:.1f} MB | | |")
    finally:
        if gitd:
            gitd.terminate()
            gitd.wait()
        shutil.rmtree(tmp, ignore_errors=True)


main()

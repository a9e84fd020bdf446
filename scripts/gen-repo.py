#!/usr/bin/env python3
"""Writes a large valid tend config repository for benchmarks.

usage: gen-repo.py DIR [JOBS] [STACKS]   (defaults: 1000 jobs, 200 stacks)
Jobs are spread over 20 files and mix playbook, command and stack kinds;
each stack has three services with ports, volumes, healthchecks and
depends_on, so every validation path is exercised.
"""
import os
import stat
import sys

out = sys.argv[1]
jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
stacks = int(sys.argv[3]) if len(sys.argv) > 3 else 200


def write(rel, text, mode=0o644):
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


write("tend.toml", """[defaults]
timezone = "Europe/Berlin"
timeout = "1h"

[hosts.nas]
docker = "tcp://nas.lan:2376"

[[notify]]
url = "ntfys://ntfy.sh/${env:NTFY_TOPIC}?priority=high"
on = ["failure", "recovery"]
""")
write("playbooks/site.yml", "- hosts: all\n  tasks: []\n")
write("inventory/hosts.yml", "all:\n  hosts:\n    nas: {}\n")
write("scripts/task.sh", "#!/bin/sh\necho ok\n", 0o755)

for s in range(stacks):
    write(f"stacks/s{s:03}/compose.yaml", f"""x-tend:
  host: {"nas" if s % 2 else "local"}
  sleep: {{ from: "0 1 * * *", to: "0 7 * * *" }}
services:
  db:
    image: postgres:16
    environment: {{ POSTGRES_PASSWORD: example, PGDATA: /data }}
    volumes: ["db-{s}:/data"]
    healthcheck:
      test: ["CMD", "pg_isready"]
      interval: 10s
      retries: 5
  app:
    image: ghcr.io/example/app:{s}
    command: ["serve", "--port", "8080"]
    ports: ["{10000 + s}:8080"]
    depends_on:
      db: {{ condition: service_healthy }}
    restart: unless-stopped
  proxy:
    image: nginx:1.27
    ports: ["127.0.0.1:{20000 + s}:80/tcp"]
    depends_on: [app]
    labels: {{ traefik.enable: "true" }}
volumes:
  db-{s}:
""")

per_file = max(1, jobs // 20)
for f in range((jobs + per_file - 1) // per_file):
    lines = ["jobs:"]
    for j in range(f * per_file, min(jobs, (f + 1) * per_file)):
        kind = j % 3
        lines.append(f"  - name: job-{j:04}")
        lines.append(f'    schedule: "{j % 60} {j % 24} * * *"')
        if kind == 0:
            lines += ["    playbook: playbooks/site.yml", "    inventory: inventory/hosts.yml",
                      "    tags: [a, b]", "    vars: { x: 1 }", "    retries: { count: 2, backoff: 1m }"]
        elif kind == 1:
            lines += ["    command: [scripts/task.sh, --flag]", '    env: { TOKEN: "${env:TOKEN}" }',
                      "    timezone: America/New_York"]
        else:
            lines += [f"    stack: s{j % stacks:03}", "    action: restart", "    services: [app]"]
    write(f"jobs/batch-{f:02}.yaml", "\n".join(lines) + "\n")

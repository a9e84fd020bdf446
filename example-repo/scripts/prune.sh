#!/bin/sh
# Remove unused Docker images older than --days N (default 14).
set -eu
days=14
if [ "${1:-}" = "--days" ]; then days=$2; fi
exec docker image prune --all --force --filter "until=$((days * 24))h"

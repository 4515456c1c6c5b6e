#!/usr/bin/env bash
# What the benchmark needs beyond the project's own install: wrk, the load generator (Debian's package).
set -euo pipefail
if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -q && apt-get install -y -q wrk; else sudo apt-get install -y -q wrk; fi
fi
wrk --version 2>&1 | head -n 1 || true

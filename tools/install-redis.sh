#!/usr/bin/env bash
# The Redis server the shared-store tests (tests/store/) and `bench --parts stores` start on a free
# loopback port: Debian's redis-server, installed only when no redis-server is on PATH (Valkey's
# `valkey-server`, or a build of one's own, on PATH as redis-server serves as well).
# Idempotent: a machine that has redis-server is left alone. Nothing is started here and no service
# is enabled: each test session starts its own server in a temporary folder (tools/redis_server.py).
set -euo pipefail
if command -v redis-server >/dev/null; then
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install-redis: no redis-server and no apt-get; install Redis 6.2+ or Valkey yourself (the store tests skip without it)" >&2
    exit 0
fi
# redis-server's package starts a system service on 6379 where systemd runs; the tests never use it
bash "$(dirname "$0")/apt-install.sh" redis-server

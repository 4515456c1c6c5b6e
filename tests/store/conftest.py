"""A real Redis server for the shared-store tests, started on a free loopback port.

``redis_server``: one per test session (and xdist worker); tests use their own key prefixes or
flush it. ``own_redis``: a server of the test's own, which the test may stop and start again.
Without a ``redis-server`` binary the tests skip, except under CI (``CI`` set), where the README's
test line has run ``tools/install-redis.sh`` first, so a missing server is a failure.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

from tools.redis_server import RedisServer, redis_binary


def _need_binary() -> None:
    if redis_binary() is None:
        if os.environ.get("CI"):
            pytest.fail("no redis-server although CI is set: tools/install-redis.sh did not install it")
        pytest.skip("no redis-server on PATH: run tools/install-redis.sh")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    _need_binary()
    with RedisServer() as server:
        yield server


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    _need_binary()
    with RedisServer() as server:
        yield server


@pytest.fixture
def collected() -> Iterator[None]:
    """Collect garbage after the test: a Redis connection an event loop left behind is then reported
    by the test that made it, not at the end of the session (where it once broke pytest's own exit)."""
    yield
    gc.collect()

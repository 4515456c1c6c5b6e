"""The Redis store under load: a burst longer than the connection pool waits its turn (all answered),
while a store that stalls still fails every waiting call at once (503), not one deadline after another."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.timeline import start
from mockserver.catalog import Api, load_catalog
from mockserver.masking import Masker
from mockserver.settings import Settings
from mockserver.state.base import StoreUnavailableError
from mockserver.state.redis import RedisStore
from mockserver.state.redis_link import POOL_SIZE
from mockserver.store import Resource
from tests.store.instances import BODY, instance
from tools.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("collected")
BURST = 400  # creates and reads at once: several times the pool (and more than redis-py's default 100)


@pytest.fixture(scope="module")
def catalog() -> dict[str, Api]:
    return load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=["letta"])


async def opened(url: str, catalog: dict[str, Api], **link: Any) -> RedisStore:
    store = RedisStore(url, Settings(spec_paths=(), store=url, max_resources=2 * BURST), Masker())
    for name, value in link.items():
        setattr(store.link, name, value)
    await store.open(lambda api: catalog[api].spec.lifecycle)
    return store


def resource(catalog: dict[str, Api], rid: str) -> Resource:
    plan = catalog["letta"].scenarios["slow"]
    return Resource("letta", rid, {}, plan.name, start(plan, 1.0), {"input": "hi"}, 1.0, "load")


def test_a_burst_beyond_the_pool_waits_its_turn_and_is_all_answered(
    redis_server: RedisServer, catalog: dict[str, Api]
) -> None:
    redis_server.flush()

    async def burst() -> None:
        writer, reader = await opened(redis_server.url, catalog), await opened(redis_server.url, catalog)
        try:
            await asyncio.gather(*(writer.add(resource(catalog, f"run-{n}")) for n in range(BURST)))
            found = await asyncio.gather(*(reader.get("load", "letta", f"run-{n}") for n in range(BURST)))
            assert all(item is not None for item in found)
            assert writer.link.healthy
            assert reader.link.healthy
        finally:
            await writer.close()
            await reader.close()

    asyncio.run(burst())


def test_calls_waiting_their_turn_fail_at_once_when_the_store_stalls(
    own_redis: RedisServer, catalog: dict[str, Api]
) -> None:
    async def stalled() -> None:
        store = await opened(own_redis.url, catalog, call_seconds=0.5)
        on_the_wire = store.link.calls
        own_redis.freeze()
        try:
            outcomes = await asyncio.gather(
                *(store.get("load", "letta", f"run-{n}") for n in range(BURST)), return_exceptions=True
            )
        finally:
            own_redis.freeze(False)
        assert all(isinstance(outcome, StoreUnavailableError) for outcome in outcomes)
        # only the calls that had a connection waited for the deadline; the queue gave up with them
        assert store.link.calls - on_the_wire <= POOL_SIZE
        await store.add(resource(catalog, "after"))  # and the next call tries again
        await store.close()

    asyncio.run(stalled())


def test_an_instance_answers_every_call_of_a_burst(redis_server: RedisServer) -> None:
    async def burst(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=BURST)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
            headers = {"X-Mock-Namespace": "burst"}

            async def create_and_read() -> list[int]:
                made = await client.post("/v1/messages/async", json=BODY, headers=headers)
                if made.status_code != 200:
                    return [made.status_code]
                path = f"/v1/messages/async/{made.json()['message_id']}/status"
                read = await client.get(path, headers=headers)
                return [made.status_code, read.status_code]

            answers = await asyncio.gather(*(create_and_read() for _ in range(BURST)))
        return [status for pair in answers for status in pair]

    with instance(redis_server.url) as running:
        statuses = asyncio.run(burst(running.url))
    assert statuses == [200] * (2 * BURST)

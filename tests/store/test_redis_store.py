"""The Redis store with two instances in one test (two ``RedisStore`` objects on one real Redis):
what one writes the other reads, changes reach the other's waiters, and single-use things happen once.
The engine and the HTTP layer on top are proven with two real processes in ``test_instances.py``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.timeline import cancel, count_read, start
from mockserver.catalog import Api, load_catalog
from mockserver.journal import JournalEntry
from mockserver.masking import Masker
from mockserver.settings import Settings
from mockserver.state.base import Change, Command, StateStore, StoreUnavailableError
from mockserver.state.redis import RedisStore
from mockserver.store import Resource
from tools.redis_server import RedisServer

NOW = 1_700_000_000.0


pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture(scope="module")
def catalog() -> dict[str, Api]:
    return load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=["letta", "chatzy"])


def pair(
    url: str, catalog: dict[str, Api], max_resources: int = 100
) -> Callable[[], AsyncIterator[tuple[RedisStore, RedisStore]]]:
    async def opened() -> AsyncIterator[tuple[RedisStore, RedisStore]]:
        settings = Settings(spec_paths=(), store=url, journal_size=3, max_resources=max_resources)
        stores = RedisStore(url, settings, Masker()), RedisStore(url, settings, Masker())
        for store in stores:
            await store.open(lambda api: catalog[api].spec.lifecycle)
            await asyncio.wait_for(store.link.subscribed.wait(), 10)
        try:
            yield stores
        finally:
            for store in stores:
                await store.close()

    return opened


@pytest.fixture
def stores(redis_server: RedisServer, catalog: dict[str, Api]) -> Any:
    redis_server.flush()
    return pair(redis_server.url, catalog)


def resource(
    catalog: dict[str, Api], scenario: str, rid: str = "run-1", namespace: str = "default"
) -> Resource:
    plan = catalog["letta"].scenarios[scenario]
    return Resource("letta", rid, {}, plan.name, start(plan, NOW), {"input": "hi"}, NOW, namespace)


async def until(condition: Callable[[], Any], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not seen in time"
        await asyncio.sleep(0.01)


def run(stores: Any, test: Callable[[RedisStore, RedisStore], Any]) -> None:
    async def body() -> None:
        async for a, b in stores():
            await test(a, b)

    asyncio.run(body())


def test_it_is_a_state_store(redis_server: RedisServer) -> None:
    store: StateStore = RedisStore(redis_server.url, Settings(spec_paths=()), Masker())
    assert store.shared
    assert store.name == redis_server.url


def test_created_on_one_is_read_on_the_other_with_its_scenario(stores: Any, catalog: dict[str, Api]) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        made = resource(catalog, "happy")
        made.extra["metadata"] = {"k": "v"}
        await a.add(made)
        seen = await b.get("default", "letta", "run-1")
        assert seen is not None
        assert seen is not made
        assert (seen.scenario, seen.request, seen.created_at) == ("happy", {"input": "hi"}, NOW)
        assert seen.timeline.scenario == made.timeline.scenario
        assert seen.extra["metadata"] == {"k": "v"}
        assert await b.get("other", "letta", "run-1") is None  # another namespace
        assert [r.id for r in await b.resources("default", "letta")] == ["run-1"]
        await a.add(resource(catalog, "happy", "run-2", "ns2"))
        assert sorted(r.id for r in await b.resources(None)) == ["run-1", "run-2"]
        assert a.salt != b.salt

    run(stores, test)


def test_a_command_on_one_wakes_the_other_and_both_agree(stores: Any, catalog: dict[str, Api]) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        changes: list[Change] = []
        b.on_change(changes.append)
        made = resource(catalog, "slow")
        await a.add(made)
        seen = await b.get("default", "letta", "run-1")
        assert seen is not None
        waiter = asyncio.get_running_loop().create_future()
        seen.waiters.append(waiter)
        lifecycle = catalog["letta"].spec.lifecycle
        made.timeline = cancel(made.timeline, NOW + 1, lifecycle)  # the engine applies, then records
        await a.command(made, Command("cancel", NOW + 1))
        assert await asyncio.wait_for(waiter, 10) == "changed"
        assert seen.timeline.state == made.timeline.state == "cancelled"
        assert [entry.at for entry in seen.timeline.history] == [NOW, NOW + 1]
        assert Change("resource", "default", "letta", "run-1", seen) in changes
        assert (await b.get("default", "letta", "run-1")) is seen  # the same object, refreshed

    run(stores, test)


def test_reads_count_across_instances_and_the_step_begins_once(stores: Any, catalog: dict[str, Api]) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        made = resource(catalog, "read-driven")
        await a.add(made)
        other = await b.get("default", "letta", "run-1")
        assert other is not None
        for moment, store, which in ((NOW + 1, a, made), (NOW + 2, b, other)):
            which.timeline = count_read(which.timeline, moment)
            await store.command(which, Command("read", moment))
        assert other.timeline.state == "running"  # the 2nd read, counted on b, began the step
        await until(lambda: made.timeline.state == "running")  # a hears of it
        assert [entry.at for entry in made.timeline.history] == [NOW, NOW + 2]

    run(stores, test)


def test_a_callback_is_claimed_once_and_a_token_taken_once(stores: Any, catalog: dict[str, Api]) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        made = resource(catalog, "happy")
        await a.add(made)
        other = await b.get("default", "letta", "run-1")
        assert other is not None
        claims = await asyncio.gather(a.claim_callback(made), b.claim_callback(other), a.claim_callback(made))
        assert sorted(claims) == [False, False, True]
        await a.vendor_put("default", "chatzy", "tok", {"chat": "c1", "used": False}, now=NOW, ttl=60)
        taken = await asyncio.gather(
            a.take_token("default", "chatzy", "tok"), b.take_token("default", "chatzy", "tok")
        )
        assert sorted(grant["used"] for grant in taken if grant) == [False, True]
        assert await b.take_token("default", "chatzy", "nope") is None
        assert await b.vendor_get("default", "chatzy", "tok") == {"chat": "c1", "used": False}

    run(stores, test)


def test_the_clock_queue_defaults_and_uploads_are_shared(stores: Any) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        assert await a.clock_start(NOW) == await b.clock_start(NOW + 50) == NOW  # the first wins
        assert await b.clock_offset("ns1") == 0.0  # cached on b from now on
        assert await a.advance_clock("ns1", 30) == 30
        await until(lambda: b._offsets.get("ns1") == 30)
        assert await b.clock_offset("ns1") == 30
        assert await b.clock_offset("ns2") == 0
        slow = {"name": "slow", "source": "", "data": None}
        mine = {"name": "mine", "source": "test.py", "data": {"steps": [{"state": "created"}]}}
        await a.queue("ns1", "letta", slow)
        await a.queue("ns1", "letta", mine)
        assert await b.queued("ns1", "letta") == [slow, mine]
        assert await b.next_queued("ns1", "letta") == slow
        assert await a.next_queued("ns1", "letta") == mine
        assert await a.next_queued("ns1", "letta") is None
        await a.set_default("ns1", "letta", "failed")
        assert (await b.default("ns1", "letta"), await b.default("ns2", "letta")) == ("failed", None)
        await a.upload("letta", "mine", {"steps": [1]}, "PUT")
        await a.upload("letta", "yours", {"steps": [2]}, "PUT")
        await b.upload("letta", "mine", {"steps": [3]}, "PUT")  # again: now laid over "yours"
        assert list((await a.uploads())["letta"].items()) == [
            ("yours", ({"steps": [2]}, "PUT")),
            ("mine", ({"steps": [3]}, "PUT")),
        ]
        await a.discard_upload("letta", "yours")
        assert list((await b.uploads())["letta"]) == ["mine"]

    run(stores, test)


def entry(namespace: str, path: str) -> JournalEntry:
    secret = {"authorization": "Bearer s3cret"}
    return JournalEntry(
        "GET", path, "", 200, "letta", "op", None, None, NOW, 0.1, secret, namespace=namespace
    )


def test_the_journal_is_capped_per_namespace_masked_and_read_anywhere(stores: Any) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        for number in range(5):
            await a.append_journal("ns1", entry("ns1", f"/{number}"))
        await a.append_journal("ns2", entry("ns2", "/other"))
        deadline = time.monotonic() + 10
        while len(seen := await b.journal("ns1")) < 3:  # written in one batch moments later
            assert time.monotonic() < deadline, seen
            await asyncio.sleep(0.01)
        assert [e.path for e in seen] == ["/2", "/3", "/4"]  # journal_size 3: the oldest went
        assert await b.journal_length("ns1") == 3
        assert seen[0].headers["authorization"] != "Bearer s3cret"
        await b.clear_journal("ns1")
        assert await a.journal("ns1") == []
        assert [e.path for e in await a.journal("ns2")] == ["/other"]

    run(stores, test)


def test_reset_forgets_one_namespace_everywhere_and_ends_its_waits(
    stores: Any, catalog: dict[str, Api]
) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        await a.add(resource(catalog, "slow", "run-1", "ns1"))
        await a.add(resource(catalog, "slow", "run-2", "ns2"))
        await a.advance_clock("ns1", 5)
        seen = await b.get("ns1", "letta", "run-1")
        assert seen is not None
        waiter = asyncio.get_running_loop().create_future()
        seen.waiters.append(waiter)
        await a.reset("ns1")
        assert await asyncio.wait_for(waiter, 10) == "changed"
        assert seen.extra["deleted"] is True
        assert await b.get("ns1", "letta", "run-1") is None
        assert await b.get("ns2", "letta", "run-2") is not None
        assert await b.clock_offset("ns1") == 0  # another namespace than the default starts over
        await a.advance_clock("default", 7)
        await a.reset("default")
        assert await b.clock_offset("default") == 7  # the default one's clock keeps its time

    run(stores, test)


def test_while_the_store_is_away_calls_fail_then_it_recovers(
    own_redis: RedisServer, catalog: dict[str, Api]
) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        a.link.call_seconds = b.link.call_seconds = 1.0
        await a.add(resource(catalog, "slow"))
        own_redis.stop()
        with pytest.raises(StoreUnavailableError, match="is not answering"):
            await b.get("default", "letta", "run-1")
        with pytest.raises(StoreUnavailableError):
            await a.add(resource(catalog, "slow", "run-2"))
        own_redis.start()  # empty: this server keeps nothing on disk
        await until(b.link.subscribed.is_set)
        await a.add(resource(catalog, "slow", "run-3"))
        assert await b.get("default", "letta", "run-3") is not None

    run(pair(own_redis.url, catalog), test)


def test_the_local_cache_is_bounded_and_what_left_it_is_read_again(
    redis_server: RedisServer, catalog: dict[str, Api]
) -> None:
    redis_server.flush()

    async def test(a: RedisStore, b: RedisStore) -> None:
        for number in range(3):
            await a.add(resource(catalog, "slow", f"run-{number}"))
        assert len(a.items.cache) == 2  # --max-resources 2
        assert (await a.get("default", "letta", "run-0")) is not None  # read from Redis again
        assert [r.id for r in await b.resources("default")] == ["run-1", "run-2"]  # the index's bound

    run(pair(redis_server.url, catalog, max_resources=2), test)

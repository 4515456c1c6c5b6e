"""A live feed of the shared journal (``RedisJournal.after``; the dashboard's hub follows it): what any
instance writes, in order, bounded per poll in entries and bytes, on a real Redis. The dashboard
across two real processes is in ``test_instances.py``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.catalog import load_catalog
from mockserver.state.redis import RedisStore
from mockserver.state.redis_journal import FEED_BYTES, FEED_ENTRIES
from tests.store.test_redis_store import entry, pair, run
from tools.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture
def stores(redis_server: RedisServer) -> Any:
    redis_server.flush()
    return pair(redis_server.url, load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=["letta"]))


def test_a_feed_gets_what_every_instance_writes_after_it_started(stores: Any) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        a.journal_log.append("feed", entry("feed", "/before"))
        await a.journal_log.flush()
        b.journal_log.append("feed", entry("feed", "/waiting-on-b"))  # recorded, not yet written
        seen, nothing = await b.journal_after("feed", None)  # starts now: the snapshot shows the past
        assert nothing == []
        a.journal_log.append("feed", entry("feed", "/a1"))
        b.journal_log.append("feed", entry("feed", "/b1"))
        b.journal_log.append("other", entry("other", "/elsewhere"))
        await a.journal_log.flush()
        await b.journal_log.flush()
        seen, entries = await b.journal_after("feed", seen)
        assert [e.path for e in entries] == ["/a1", "/b1"]
        assert entries[0].headers["authorization"] != "Bearer s3cret"  # cleaned before it was written
        assert await a.journal_after("feed", seen) == (seen, [])  # nothing new: nothing sent
        await a.reset("feed")  # the count starts over: what comes after still reaches the feed
        a.journal_log.append("feed", entry("feed", "/after-reset"))
        await a.journal_log.flush()
        _, entries = await b.journal_after("feed", seen)
        assert [e.path for e in entries] == ["/after-reset"]

    run(stores, test)


def test_a_poll_is_bounded_in_entries_and_bytes_keeping_the_newest(stores: Any) -> None:
    async def test(a: RedisStore, b: RedisStore) -> None:
        seen, _ = await b.journal_after("busy", None)
        a.journal_log.size = 10_000  # the list keeps them all: only the feed's bound applies
        for number in range(FEED_ENTRIES + 50):
            a.journal_log.append("busy", entry("busy", f"/{number}"))
        await a.journal_log.flush()
        _, entries = await b.journal_after("busy", seen)
        assert len(entries) == FEED_ENTRIES
        assert entries[-1].path == f"/{FEED_ENTRIES + 49}"  # the newest, oldest first
        big = replace(entry("big", "/x"), request_body="y" * 20_000)
        seen, _ = await b.journal_after("big", None)
        for _ in range(40):  # 800 KB written at once
            a.journal_log.append("big", big)
        await a.journal_log.flush()
        _, entries = await b.journal_after("big", seen)
        assert 0 < len(entries) < 40
        assert sum(len(str(e.request_body)) for e in entries) <= FEED_BYTES

    run(stores, test)

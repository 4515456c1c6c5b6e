"""The link to a real Redis: bounded calls, 503-worthy errors while it is away, recovery, pub/sub."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from mockserver.state.base import StoreUnavailableError
from mockserver.state.redis_link import Keys, RedisLink
from mockserver.state.store_url import parse_store
from tools.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("collected")


class Heard:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.reconnects = 0

    def message(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    def reconnected(self) -> None:
        self.reconnects += 1


async def until(condition: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def answering(link: RedisLink) -> bool:
    return link.healthy  # a call, so the type checker does not carry one assert's narrowing to the next


def link_to(server: RedisServer, heard: Heard, **options: Any) -> RedisLink:
    location = parse_store(server.url)
    assert location is not None
    return RedisLink(location, heard.message, heard.reconnected, prefix="linktest:", **options)


def test_keys_keep_a_namespace_under_one_braced_tag() -> None:
    keys = Keys("comeback:")
    assert keys.resource("ci-7", "letta", "run-1") == "comeback:{ci-7}:r:letta:run-1"
    assert keys.index("default") == "comeback:{default}:index"
    assert keys.channel == "comeback:events"


def test_messages_reach_every_other_listener_and_name_their_origin(redis_server: RedisServer) -> None:
    async def scenario() -> None:
        first, second = Heard(), Heard()
        a, b = link_to(redis_server, first), link_to(redis_server, second)
        a.start()
        b.start()
        await asyncio.wait_for(asyncio.gather(a.subscribed.wait(), b.subscribed.wait()), 10)
        await a.publish({"kind": "cancel", "ns": "default", "api": "letta", "id": "run-1"})
        await b.publish({"kind": "reset", "ns": "default"})
        await until(lambda: first.messages and second.messages)
        assert second.messages == [
            {"origin": a.origin, "kind": "cancel", "ns": "default", "api": "letta", "id": "run-1"}
        ]
        # each instance's own message is dropped unread: its engine woke its own waiters already
        assert first.messages == [{"origin": b.origin, "kind": "reset", "ns": "default"}]
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_store_that_goes_away_is_unavailable_at_once_then_recovers(own_redis: RedisServer) -> None:
    async def scenario() -> None:
        heard = Heard()
        link = link_to(own_redis, heard, call_seconds=1.0)
        link.start()
        await asyncio.wait_for(link.subscribed.wait(), 10)
        assert await link.run(lambda: link.client.set("linktest:x", b"1")) is True
        own_redis.stop()
        began = time.monotonic()
        with pytest.raises(StoreUnavailableError, match=f"shared store {own_redis.url} is not answering"):
            await link.run(lambda: link.client.get("linktest:x"))
        assert time.monotonic() - began < 5  # bounded by the call deadline, never a hang
        assert not answering(link)
        own_redis.start()
        await until(lambda: heard.reconnects == 1)  # the listener came back by itself ...
        assert await link.run(lambda: link.client.get("linktest:x")) is None  # ... and so do calls
        assert answering(link)
        another = b'{"origin":"another","kind":"reset","ns":"default"}'  # as another instance sends it
        await link.run(lambda: link.client.publish(link.keys.channel, another))
        await until(lambda: any(m["kind"] == "reset" for m in heard.messages))
        await link.close()

    asyncio.run(scenario())


def test_a_store_that_stalls_is_unavailable_within_the_deadline(own_redis: RedisServer) -> None:
    async def scenario() -> None:
        link = link_to(own_redis, Heard(), call_seconds=0.5)
        await link.run(link.client.ping)
        own_redis.freeze()
        try:
            began = time.monotonic()
            with pytest.raises(StoreUnavailableError, match=r"no answer within 0\.5 s"):
                await link.run(lambda: link.client.get("linktest:x"))
            assert time.monotonic() - began < 2
        finally:
            own_redis.freeze(False)
        assert await link.run(link.client.ping) is True
        await link.close()

    asyncio.run(scenario())

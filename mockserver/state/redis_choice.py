"""Which scenario a create walks, on Redis: each namespace's queue per API and chosen default.

Both are read from Redis when used (another instance may have queued or chosen one a moment ago),
but a create's choice costs one round trip, not two: ``next_queued`` reads the default along with
the queue's head, and the same request's ``default`` (asked next when nothing was queued) takes it
from there (a context variable: per request task, used once).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from mockserver.state.redis_codec import dumps
from mockserver.state.redis_link import RedisLink

# (store, namespace, api, the chosen default) read by this request's ``next_queued``, for its ``default``
_READ_WITH_QUEUE: ContextVar[tuple[object, str, str, bytes | None] | None] = ContextVar("read", default=None)


class RedisChoice:
    """The scenario queue and chosen default of each namespace and API (``StateStore``'s methods)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.keys = link.keys

    def _queue(self, namespace: str, api: str) -> str:
        return f"{self.keys.space(namespace)}queue:{api}"

    async def queue(self, namespace: str, api: str, entry: Mapping[str, Any]) -> None:
        _READ_WITH_QUEUE.set(None)
        await self.link.run(lambda: self.link.client.rpush(self._queue(namespace, api), dumps(entry)))
        await self.link.publish({"kind": "defaults", "ns": namespace})

    async def next_queued(self, namespace: str, api: str) -> Mapping[str, Any] | None:
        """The next queued scenario (and the chosen default, in the same round trip)."""

        async def take() -> Any:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.lpop(self._queue(namespace, api))
                pipe.hget(self.keys.space(namespace) + "defaults", api)
                return await pipe.execute()

        found, chosen = await self.link.run(take)
        _READ_WITH_QUEUE.set((self, namespace, api, chosen))
        return None if found is None else dict(json.loads(found))

    async def queued(self, namespace: str, api: str) -> list[Mapping[str, Any]]:
        found = await self.link.run(lambda: self.link.client.lrange(self._queue(namespace, api), 0, -1))
        return [json.loads(item) for item in found]

    async def default(self, namespace: str, api: str) -> str | None:
        kept = _READ_WITH_QUEUE.get()
        _READ_WITH_QUEUE.set(None)  # used once: a later look reads it again
        if kept is not None and kept[0] is self and kept[1:3] == (namespace, api):
            found = kept[3]
        else:
            found = await self.link.run(
                lambda: self.link.client.hget(self.keys.space(namespace) + "defaults", api)
            )
        return None if found is None else found.decode()

    async def set_default(self, namespace: str, api: str, scenario: str | None) -> None:
        _READ_WITH_QUEUE.set(None)
        name = self.keys.space(namespace) + "defaults"
        client = self.link.client
        await self.link.run(
            lambda: client.hdel(name, api) if scenario is None else client.hset(name, api, scenario)
        )
        await self.link.publish({"kind": "defaults", "ns": namespace})

"""The Redis store (``--store redis://HOST:PORT/DB``): several mock processes, one mock.

Each resource is a record written once at create (one pipelined round trip, answered only once
Redis has it) plus a few mutable facts: its commands with their times, its read counts (only for
scenarios with ``after_reads`` steps), its vendor values. Every instance computes the timeline
itself (``state.replay``) and keeps the resource in a local cache, so a status read of a cached,
unchanged resource costs no round trip. A change is published on the store's channel; the other
instances re-read that resource, then tell the engine (``on_change``), which wakes the streams and
dashboards waiting on it. A command re-reads the whole command list in the same round trip, so
commands sent to different instances never lose one another.

Exactly-once and single-use across processes: a callback is claimed with ``SET NX`` before it is
sent, and scheduled per instance so another sends it when its creator stops (``redis_callbacks``);
a token is marked used with ``SET NX``; a read-driven step is written by the one instance whose
``HINCRBY`` reached the step's count. The journal is a capped list per namespace, written in
batches so requests do not wait for it, and followed by live feeds (``redis_journal``). While
Redis is away every call raises ``StoreUnavailableError`` within ``redis_link.CALL_SECONDS``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from lifecycle.model import Lifecycle
from mockserver.journal import JournalEntry
from mockserver.masking import Masker
from mockserver.settings import Settings
from mockserver.state.base import Change, ChangeListener, Command, StoreUnavailableError
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from mockserver.state.redis_callbacks import CallbackSchedule
from mockserver.state.redis_choice import RedisChoice
from mockserver.state.redis_codec import dumps
from mockserver.state.redis_journal import RedisJournal
from mockserver.state.redis_link import Message, RedisLink
from mockserver.state.redis_resources import Key, RedisResources
from mockserver.state.store_url import parse_store
from mockserver.store import Resource

log = logging.getLogger("comeback.mock")


class RedisStore:
    """``StateStore`` on Redis 6.2+ or Valkey (see ``state.base`` for what each method means)."""

    shared = True

    def __init__(self, url: str, settings: Settings, masker: Masker) -> None:
        location = parse_store(url)
        if location is None:
            raise ValueError("RedisStore needs a redis:// URL")
        self.name = location.shown
        self.salt = 0
        self.settings = settings
        self.link = RedisLink(location, self._message, self._reconnected)
        self.keys = self.link.keys
        self.items = RedisResources(self.link, settings)
        self.choice = RedisChoice(self.link)
        self.journal_log = RedisJournal(self.link, settings, masker)
        self._listeners: list[ChangeListener] = []
        self._offsets: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.callbacks = CallbackSchedule(self.link, self.items, self._tell)

    # -- life ----------------------------------------------------------------------------------------
    async def open(self, lifecycle_of: Callable[[str], Lifecycle]) -> None:
        self.items.lifecycle_of = lifecycle_of
        self.salt = int(await self.link.run(lambda: self.link.client.incr(self.keys.prefix + "salt")))
        self.link.start()
        await self.callbacks.open()

    async def close(self) -> None:
        await self.callbacks.close()
        await self.journal_log.close()
        pending = list(self._tasks)
        for task in pending:
            task.cancel()
        # awaited before the pool closes: a task cancelled mid-call hands its connection back first
        await asyncio.gather(*pending, return_exceptions=True)
        await self.link.close()

    def on_change(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    # -- resources (RedisResources) ------------------------------------------------------------------
    async def add(self, resource: Resource) -> None:
        await self.items.add(resource)

    async def get(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        return await self.items.get(namespace, api, resource_id)

    def held(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        return self.items.held(namespace, api, resource_id)

    async def resources(self, namespace: str | None, api: str | None = None) -> list[Resource]:
        spaces = [namespace] if namespace is not None else await self.items.namespaces()
        found = []
        for space in spaces:
            for owner, resource_id in await self.items.members(space):
                if api is None or owner == api:
                    resource = await self.items.get(space, owner, resource_id)
                    if resource is not None:
                        found.append(resource)
        return found

    async def command(self, resource: Resource, command: Command) -> None:
        await self.items.command(resource, command)

    async def remove(self, resource: Resource) -> None:
        await self.items.remove(resource)

    async def put_extra(self, resource: Resource, key: str, value: Any) -> None:
        await self.items.put_extra(resource, key, value)

    async def claim_callback(self, resource: Resource) -> bool:
        return await self.callbacks.claim(resource)

    async def callback_outcome(self, resource: Resource, outcome: Mapping[str, Any]) -> None:
        await self.items.put_extra(resource, "callback", dict(outcome))

    async def callback_done(self, resource: Resource) -> None:
        await self.callbacks.done(resource)

    # -- clock ---------------------------------------------------------------------------------------
    async def clock_start(self, proposed: float) -> float:
        name = self.keys.prefix + "clock-start"

        async def agree() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.set(name, repr(proposed), nx=True)
                pipe.get(name)
                return await pipe.execute()

        _, start = await self.link.run(agree)
        return float(start)

    async def clock_offset(self, namespace: str) -> float:
        if namespace not in self._offsets:
            found = await self.link.run(lambda: self.link.client.get(self.keys.clock(namespace)))
            self._offsets[namespace] = float(found or 0.0)
        return self._offsets[namespace]

    async def advance_clock(self, namespace: str, seconds: float) -> float:
        name = self.keys.clock(namespace)

        async def move() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.incrbyfloat(name, seconds)
                return await pipe.execute()

        (offset,) = await self.link.run(move)
        self._offsets[namespace] = float(offset)
        await self.link.publish({"kind": "clock", "ns": namespace, "offset": float(offset)})
        return float(offset)

    # -- scenario choice (RedisChoice) ---------------------------------------------------------------
    async def queue(self, namespace: str, api: str, entry: Mapping[str, Any]) -> None:
        await self.choice.queue(namespace, api, entry)

    async def next_queued(self, namespace: str, api: str) -> Mapping[str, Any] | None:
        return await self.choice.next_queued(namespace, api)

    async def queued(self, namespace: str, api: str) -> list[Mapping[str, Any]]:
        return await self.choice.queued(namespace, api)

    async def default(self, namespace: str, api: str) -> str | None:
        return await self.choice.default(namespace, api)

    async def set_default(self, namespace: str, api: str, scenario: str | None) -> None:
        await self.choice.set_default(namespace, api, scenario)

    # -- uploaded scenarios (global) -----------------------------------------------------------------
    async def upload(self, api: str, name: str, data: Mapping[str, Any], source: str) -> None:
        field = f"{api}\0{name}"

        async def write() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.hset(self.keys.prefix + "uploads", field, dumps({"data": data, "source": source}))
                pipe.lrem(self.keys.prefix + "uploads-list", 0, field)  # laid over the earlier ones
                pipe.rpush(self.keys.prefix + "uploads-list", field)
                return await pipe.execute()

        await self.link.run(write)
        await self.link.publish({"kind": "uploads", "ns": None})

    async def discard_upload(self, api: str, name: str) -> None:
        field = f"{api}\0{name}"

        async def forget() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.hdel(self.keys.prefix + "uploads", field)
                pipe.lrem(self.keys.prefix + "uploads-list", 0, field)
                return await pipe.execute()

        await self.link.run(forget)
        await self.link.publish({"kind": "uploads", "ns": None})

    async def uploads(self) -> dict[str, dict[str, tuple[Mapping[str, Any], str]]]:
        async def read() -> Any:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.lrange(self.keys.prefix + "uploads-list", 0, -1)
                pipe.hgetall(self.keys.prefix + "uploads")
                return await pipe.execute()

        order, values = await self.link.run(read)
        found: dict[str, dict[str, tuple[Mapping[str, Any], str]]] = {}
        for field in order:
            if field in values:
                api, _, name = field.decode().partition("\0")
                kept = json.loads(values[field])
                found.setdefault(api, {})[name] = (kept["data"], kept["source"])
        return found

    # -- journal (RedisJournal) ---------------------------------------------------------------------
    async def append_journal(self, namespace: str, entry: JournalEntry) -> None:
        self.journal_log.append(namespace, entry)

    async def journal(self, namespace: str) -> list[JournalEntry]:
        return await self.journal_log.entries(namespace)

    async def journal_length(self, namespace: str) -> int:
        return await self.journal_log.length(namespace)

    async def clear_journal(self, namespace: str) -> None:
        await self.journal_log.clear(namespace)

    async def journal_after(self, namespace: str, seen: int | None) -> tuple[int, list[JournalEntry]]:
        return await self.journal_log.after(namespace, seen)

    # -- vendor data ---------------------------------------------------------------------------------
    def _vendor(self, namespace: str, api: str, key: str) -> str:
        return f"{self.keys.space(namespace)}v:{api}:{key}"

    async def vendor_get(self, namespace: str, api: str, key: str) -> Any:
        found = await self.link.run(lambda: self.link.client.get(self._vendor(namespace, api, key)))
        return None if found is None else json.loads(found)

    async def vendor_put(
        self, namespace: str, api: str, key: str, value: Any, *, now: float, ttl: float
    ) -> None:
        # ``ttl`` is on the namespace's clock, which may be manual: the vendor checks ages itself, and
        # Redis forgets the value after the longer of ttl and --max-age real seconds (a bound only)
        seconds = max(ttl, self.settings.max_age_seconds, 1.0)
        name = self._vendor(namespace, api, key)
        await self.link.run(lambda: self.link.client.set(name, dumps(value), px=round(seconds * 1000)))

    async def take_token(self, namespace: str, api: str, token: str) -> dict[str, Any] | None:
        name = self._vendor(namespace, api, token)
        ttl = max(60, round(self.settings.max_age_seconds))

        async def take() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.get(name)
                pipe.set(name + ":used", b"1", nx=True, ex=ttl)
                return await pipe.execute()

        found, first = await self.link.run(take)
        if found is None:
            return None
        grant: dict[str, Any] = json.loads(found)
        grant["used"] = bool(grant.get("used")) or not first
        return grant

    # -- reset ---------------------------------------------------------------------------------------
    async def reset(self, namespace: str) -> None:
        self.journal_log.drop(namespace)
        pattern = self.keys.space(namespace).replace("{", "[{]").replace("}", "[}]") + "*"
        # the default namespace's clock keeps its time; another one starts over, as if never used
        clock = self.keys.clock(namespace).encode() if namespace == DEFAULT_NAMESPACE else b""

        async def wipe() -> None:
            batch: list[bytes] = []
            async for name in self.link.client.scan_iter(match=pattern, count=1000):
                if name != clock:  # a reset never moves the clock
                    batch.append(name)
                if len(batch) >= 500:
                    await self.link.client.unlink(*batch)
                    batch = []
            if batch:
                await self.link.client.unlink(*batch)

        await self.link.run(wipe)
        if namespace != DEFAULT_NAMESPACE:
            self._offsets.pop(namespace, None)
        await self.link.publish({"kind": "reset", "ns": namespace})
        self._gone(self.items.forget_namespace(namespace))

    # -- what other instances changed ----------------------------------------------------------------
    def _message(self, message: Message) -> None:
        """A change published by another instance (the listener calls this on the event loop; it
        drops this instance's own)."""
        kind, namespace = message.get("kind"), message.get("ns")
        if kind in ("resource", "deleted"):
            key: Key = (str(namespace), str(message.get("api")), str(message.get("id")))
            cached = self.items.cache.get(key)
            if kind == "deleted":
                if cached is not None:
                    self.items.forget(key)
                    self._gone([cached])
                self._tell(Change("deleted", key[0], key[1], key[2], cached))
            elif cached is None:
                self._tell(Change("resource", key[0], key[1], key[2]))  # a dashboard may fetch it
            else:
                self.items.stale.add(key)
                self._spawn(self._refresh(key))
        elif kind == "clock" and isinstance(namespace, str):
            self._offsets[namespace] = float(message.get("offset", 0.0))
            self._tell(Change("clock", namespace))
        elif kind == "reset" and isinstance(namespace, str):
            if namespace != DEFAULT_NAMESPACE:
                self._offsets.pop(namespace, None)
            self.journal_log.drop(namespace)
            self._gone(self.items.forget_namespace(namespace))
            self._tell(Change("reset", namespace))
        elif kind in ("defaults", "uploads"):
            self._tell(Change(kind, namespace if isinstance(namespace, str) else None))

    def _reconnected(self) -> None:
        """Messages sent while the store was away are lost: read everything again when next used,
        and at once what a stream or a callback is waiting on."""
        self._offsets.clear()
        self.items.stale.update(self.items.cache)
        for key, resource in list(self.items.cache.items()):
            if resource.waiters or resource.watchers:
                self._spawn(self._refresh(key))
        for namespace in {key[0] for key in self.items.cache}:
            self._tell(Change("clock", namespace))

    async def _refresh(self, key: Key) -> None:
        try:
            resource = await self.items.fetch(key)
        except StoreUnavailableError:
            return  # still stale: the next use reads it again
        if resource is None:
            self._tell(Change("deleted", *key))
            return
        resource.notify()
        self._tell(Change("resource", *key, resource))

    def _gone(self, resources: list[Resource]) -> None:
        for resource in resources:
            resource.extra["deleted"] = True
            resource.notify()

    def _tell(self, change: Change) -> None:
        for listener in self._listeners:
            try:
                listener(change)
            except Exception:  # one listener's bug must not stop the others or the listener task
                log.exception("store change listener failed on %s", change)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

"""Resources on Redis: written once at create, read from a local cache until a change is published.

The cache holds the same ``Resource`` object for as long as it is used (open streams and
callbacks wait on it, its fake bodies are made once), so a refresh updates that object in place:
its timeline (replayed from the stored commands) and its vendor values. Resources nobody watches
leave the cache beyond ``max_resources`` (oldest use first); they are read again when asked for.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, scenario_from_data
from mockserver.settings import Settings
from mockserver.state.base import Command
from mockserver.state.redis_codec import EXTRA, commands_of, dumps, extras_of, reads_of, record_of
from mockserver.state.redis_link import RedisLink
from mockserver.state.replay import reads_step_due, replay
from mockserver.store import Resource

Key = tuple[str, str, str]  # (namespace, api, id)
# a create in one command (a MULTI of eight costs the client ~3x the CPU: every reply is parsed):
# KEYS record hash, commands, reads, index, namespaces, the callback schedule of this instance; ARGV
# ttl, created_at, member, max resources, namespace, channel, message, the schedule's entry ('':
# no callback), then the hash's field/value pairs. A script runs whole, as MULTI does.
CREATE = """
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], unpack(ARGV, 9))
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -tonumber(ARGV[4]) - 1)
redis.call('SADD', KEYS[5], ARGV[5])
if ARGV[8] ~= '' then
  redis.call('SADD', KEYS[6], ARGV[8])
  redis.call('EXPIRE', KEYS[6], ARGV[1])
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return 1
"""


class RedisResources:
    """The resource half of the Redis store (the methods ``StateStore`` names, plus refreshes)."""

    def __init__(self, link: RedisLink, settings: Settings) -> None:
        self.link = link
        self.keys = link.keys
        self.settings = settings
        self.lifecycle_of: Callable[[str], Lifecycle] = _no_lifecycle
        self.cache: OrderedDict[Key, Resource] = OrderedDict()
        self.commands: dict[Key, list[dict[str, Any]]] = {}
        self.stale: set[Key] = set()
        self._scenarios: dict[tuple[str, str, str], Scenario] = {}
        self._ttl = max(1, round(settings.max_age_seconds))
        self._create = link.client.register_script(CREATE)  # EVALSHA; loaded again if Redis lost it
        # (the set, the entry) that schedules a create's callback, or None (redis_callbacks)
        self.scheduled: Callable[[Resource], tuple[str, bytes] | None] = lambda resource: None

    def change(self, kind: str, resource: Resource) -> bytes:
        """A message saying ``resource`` changed (``resource``) or went (``deleted``)."""
        message = {"kind": kind, "ns": resource.namespace, "api": resource.api, "id": resource.id}
        return self.link.message(message)

    # -- writes --------------------------------------------------------------------------------------
    async def add(self, resource: Resource) -> None:
        ns, api, rid = resource.namespace, resource.api, resource.id
        fields: list[bytes] = [b"record", record_of(resource)]
        for name, value in resource.extra.items():
            fields += [EXTRA + name.encode(), dumps(value)]
        schedule, entry = self.scheduled(resource) or (self.keys.prefix + "sending", b"")
        keys = [
            self.keys.resource(ns, api, rid),
            self.keys.commands(ns, api, rid),
            self.keys.reads(ns, api, rid),
            self.keys.index(ns),
            self.keys.prefix + "namespaces",
            schedule,
        ]
        at = repr(resource.created_at)
        arguments: list[bytes | str | int] = [self._ttl, at, f"{api}:{rid}", self.settings.max_resources]
        arguments += [ns, self.keys.channel, self.change("resource", resource), entry, *fields]

        def write() -> Any:
            return self._create(keys=keys, args=arguments)

        await self.link.run(write)
        self.remember((ns, api, rid), resource, [])

    async def command(self, resource: Resource, command: Command) -> None:
        if command.kind == "delete":
            return  # ``remove`` forgets the resource; a cancel before it is its own command
        if command.kind == "read":
            if any(step.after_reads is not None for step in resource.timeline.scenario.steps):
                await self._count_read(resource, command.at)
            return
        await self._append(resource, {"kind": command.kind, "at": command.at})

    async def _count_read(self, resource: Resource, at: float) -> None:
        """One read, counted across instances (HINCRBY on the current entry); the instance whose
        count reaches an ``after_reads`` step writes that step as a command."""
        key = self._key(resource)
        commands = self.commands.get(key, [])
        before = replay(resource.timeline.scenario, resource.created_at, commands, self._lc(resource), at)
        entry = len(before.history) - 1
        reads = self.keys.reads(*key)

        async def count_one() -> Any:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.hincrby(reads, str(entry), 1)
                pipe.expire(reads, self._ttl)
                return await pipe.execute()

        count = int((await self.link.run(count_one))[0])
        if reads_step_due(before, count) and not reads_step_due(before, count - 1):
            await self._append(resource, {"kind": "reads", "at": at, "entry": entry})
        else:
            self._set_timeline(resource, commands, at, {entry: count})

    async def _append(self, resource: Resource, command: dict[str, Any]) -> None:
        """Write a command and read back every command (another instance's may have come first)."""
        ns, api, rid = key = self._key(resource)
        name = self.keys.commands(ns, api, rid)

        async def write() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.rpush(name, dumps(command))
                pipe.expire(name, self._ttl)
                pipe.expire(self.keys.resource(ns, api, rid), self._ttl)  # kept --max-age after a write
                pipe.lrange(name, 0, -1)
                pipe.hgetall(self.keys.reads(ns, api, rid))
                pipe.publish(self.keys.channel, self.change("resource", resource))
                return await pipe.execute()

        _, _, _, stored, reads, _ = await self.link.run(write)
        self.commands[key] = commands_of(stored)
        self._set_timeline(resource, self.commands[key], float(command["at"]), reads_of(reads))

    async def remove(self, resource: Resource) -> None:
        ns, api, rid = key = self._key(resource)
        keys = self.keys

        async def forget() -> Any:
            async with self.link.client.pipeline(transaction=True) as pipe:
                pipe.delete(
                    keys.resource(ns, api, rid), keys.commands(ns, api, rid), keys.reads(ns, api, rid)
                )
                pipe.zrem(keys.index(ns), f"{api}:{rid}")
                pipe.publish(keys.channel, self.change("deleted", resource))
                return await pipe.execute()

        await self.link.run(forget)
        self.forget(key)

    async def put_extra(self, resource: Resource, key: str, value: Any) -> None:
        resource.extra[key] = value
        name = self.keys.resource(*self._key(resource))

        async def write() -> Any:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.hset(name, EXTRA + key.encode(), dumps(value))
                pipe.expire(name, self._ttl)
                pipe.publish(self.keys.channel, self.change("resource", resource))
                return await pipe.execute()

        await self.link.run(write)

    # -- reads ---------------------------------------------------------------------------------------
    async def get(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        cached = self.held(namespace, api, resource_id)
        return cached if cached is not None else await self.fetch((namespace, api, resource_id))

    def held(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        """The cached resource unless a published change made it stale (None: fetch it)."""
        key = (namespace, api, resource_id)
        cached = self.cache.get(key)
        if cached is not None and key not in self.stale:
            self.cache.move_to_end(key)
            return cached
        return None

    async def fetch(self, key: Key) -> Resource | None:
        """Read the resource from the store (updating the cached object in place, if any)."""
        keys = self.keys

        async def read() -> Any:
            async with self.link.client.pipeline(transaction=False) as pipe:
                pipe.hgetall(keys.resource(*key))
                pipe.lrange(keys.commands(*key), 0, -1)
                pipe.hgetall(keys.reads(*key))
                return await pipe.execute()

        self.stale.discard(key)  # a change published from now on marks it again
        fields, stored, reads = await self.link.run(read)
        if b"record" not in fields:
            self.forget(key)
            return None
        record = json.loads(fields[b"record"])
        commands = commands_of(stored)
        resource = self.cache.get(key)
        if resource is None:
            scenario = self._scenario(record)
            timeline = replay(scenario, record["created_at"], commands, self.lifecycle_of(key[1]), 0.0)
            resource = Resource(
                key[1], key[2], record["scope"], record["scenario"], timeline, record["request"],
                record["created_at"], key[0],
            )  # fmt: skip
        resource.extra.update(extras_of(fields))
        self.remember(key, resource, commands)
        self._set_timeline(resource, commands, None, reads_of(reads))
        return resource

    async def namespaces(self) -> list[str]:
        """Every namespace that has had a resource (a hot reload looks at all of them)."""
        found = await self.link.run(lambda: self.link.client.smembers(self.keys.prefix + "namespaces"))
        return sorted(name.decode() for name in found)

    async def members(self, namespace: str) -> list[tuple[str, str]]:
        """(api, id) of the namespace's resources, oldest first."""
        found = await self.link.run(lambda: self.link.client.zrange(self.keys.index(namespace), 0, -1))
        pairs = [member.decode().partition(":") for member in found]
        return [(api, resource_id) for api, _, resource_id in pairs]

    # -- the cache -----------------------------------------------------------------------------------
    def remember(self, key: Key, resource: Resource, commands: list[dict[str, Any]]) -> None:
        self.cache[key] = resource
        self.cache.move_to_end(key)
        self.commands[key] = commands
        excess = len(self.cache) - self.settings.max_resources
        if excess > 0:  # the least recently used that nothing watches (they are read again when asked)
            unwatched = (k for k, r in self.cache.items() if r.watchers == 0)
            # oldest first, and stop at the excess: a full cache pays for one, not for every entry
            # (the whole list per create cost 3 ms of CPU each at the default 10,000)
            for old in list(islice(unwatched, excess)):
                self.forget(old)

    def forget(self, key: Key) -> None:
        self.cache.pop(key, None)
        self.commands.pop(key, None)
        self.stale.discard(key)

    def forget_namespace(self, namespace: str) -> list[Resource]:
        """Drop the namespace's cached resources; those that were cached (to wake their waiters)."""
        gone = [resource for key, resource in self.cache.items() if key[0] == namespace]
        for resource in gone:
            self.forget(self._key(resource))
        return gone

    # -- helpers -------------------------------------------------------------------------------------
    def _set_timeline(
        self, resource: Resource, commands: list[dict[str, Any]], at: float | None, reads: Mapping[int, int]
    ) -> None:
        last = max([resource.created_at, *(float(c["at"]) for c in commands)]) if at is None else at
        lifecycle = self._lc(resource)
        timeline = replay(resource.timeline.scenario, resource.created_at, commands, lifecycle, last)
        count = reads.get(len(timeline.history) - 1, 0)
        resource.timeline = replay(
            timeline.scenario, resource.created_at, commands, lifecycle, last, reads=count
        )

    def _scenario(self, record: Mapping[str, Any]) -> Scenario:
        """The record's scenario, rebuilt from what it was written as (once per distinct scenario)."""
        api, name = record["api"], record["scenario"]
        digest = hashlib.sha1(dumps(record["scenario_data"]), usedforsecurity=False).hexdigest()
        found = self._scenarios.get((api, name, digest))
        if found is None:
            lifecycle = self.lifecycle_of(api)
            found = scenario_from_data(
                record["scenario_data"], record["source"], lifecycle, name=name, api=api
            )
            self._scenarios[(api, name, digest)] = found
        return found

    def _lc(self, resource: Resource) -> Lifecycle:
        return self.lifecycle_of(resource.api)

    @staticmethod
    def _key(resource: Resource) -> Key:
        return (resource.namespace, resource.api, resource.id)


def _no_lifecycle(api: str) -> Lifecycle:
    raise LookupError(f"the Redis store was not opened (no lifecycle for {api!r})")

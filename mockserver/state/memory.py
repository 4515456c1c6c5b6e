"""The memory store: the mock's state in this process (``--store memory``, the default).

It keeps today's structures: one ``Store`` of resources (bounded by count and age, never evicting
what a stream or callback watches) and one ``Journal`` (bounded by count and bytes), both shared
by every namespace so the bounds hold however many namespaces clients use; the rest is small
dicts per namespace. Nothing here awaits: a command is applied by the engine to the resource it
holds, so recording it costs one awaited coroutine and no round trip.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from lifecycle.model import Lifecycle
from mockserver.journal import Journal, JournalEntry
from mockserver.masking import Masker
from mockserver.settings import Settings
from mockserver.state.base import ChangeListener, Command
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from mockserver.store import Resource, Store

Key = tuple[str, str]  # (namespace, api)
VENDOR_MEMORY = 10_000  # vendor values kept per namespace, api and kind, oldest forgotten first


class MemoryStore:
    """``StateStore`` in one process (see ``state.base`` for what each method means)."""

    name = "memory"
    shared = False
    salt = 0

    def __init__(self, settings: Settings, masker: Masker) -> None:
        self.resources_by_key = Store(settings.max_resources, settings.max_age_seconds)
        self.journal_entries = Journal(
            settings.journal_size,
            settings.journal_bytes,
            settings.journal_value_bytes,
            settings.journal_body_bytes,
            masker,
        )
        self.is_done: Callable[[Resource], bool] = lambda resource: False  # the engine's, for eviction
        self._offsets: dict[str, float] = {}
        self._queues: dict[Key, deque[Mapping[str, Any]]] = {}
        self._defaults: dict[Key, str] = {}
        self._uploads: dict[str, dict[str, tuple[Mapping[str, Any], str]]] = {}
        # (namespace, api, kind) -> key -> (value, expires at on the namespace's clock), oldest first
        self._vendor: dict[tuple[str, str, str], dict[str, tuple[Any, float]]] = {}

    async def open(self, lifecycle_of: Callable[[str], Lifecycle]) -> None:
        return None

    async def close(self) -> None:
        return None

    def on_change(self, listener: ChangeListener) -> None:
        return None  # no other process shares this state

    # -- resources ---------------------------------------------------------------------------------
    async def add(self, resource: Resource) -> None:
        self.resources_by_key.add(resource, self.is_done)

    async def get(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        return self.resources_by_key.get(namespace, api, resource_id)

    def held(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        return self.resources_by_key.get(namespace, api, resource_id)

    async def resources(self, namespace: str | None, api: str | None = None) -> list[Resource]:
        return list(self.resources_by_key.of(namespace, api))

    async def command(self, resource: Resource, command: Command) -> None:
        return None  # the engine applied it to the resource this store holds

    async def remove(self, resource: Resource) -> None:
        self.resources_by_key.remove(resource)

    async def put_extra(self, resource: Resource, key: str, value: Any) -> None:
        resource.extra[key] = value

    async def claim_callback(self, resource: Resource) -> bool:
        return True  # the one process that created the resource sends its callback

    async def callback_outcome(self, resource: Resource, outcome: Mapping[str, Any]) -> None:
        resource.extra["callback"] = outcome

    async def callback_done(self, resource: Resource) -> None:
        return None  # no shared schedule: the creating process's task is the only sender

    # -- clock -------------------------------------------------------------------------------------
    async def clock_start(self, proposed: float) -> float:
        return proposed

    async def clock_offset(self, namespace: str) -> float:
        return self._offsets.get(namespace, 0.0)

    async def advance_clock(self, namespace: str, seconds: float) -> float:
        offset = self._offsets[namespace] = self._offsets.get(namespace, 0.0) + seconds
        return offset

    # -- scenario choice ---------------------------------------------------------------------------
    async def queue(self, namespace: str, api: str, entry: Mapping[str, Any]) -> None:
        self._queues.setdefault((namespace, api), deque()).append(entry)

    async def next_queued(self, namespace: str, api: str) -> Mapping[str, Any] | None:
        waiting = self._queues.get((namespace, api))
        return waiting.popleft() if waiting else None

    async def queued(self, namespace: str, api: str) -> list[Mapping[str, Any]]:
        return list(self._queues.get((namespace, api), ()))

    async def default(self, namespace: str, api: str) -> str | None:
        return self._defaults.get((namespace, api))

    async def set_default(self, namespace: str, api: str, scenario: str | None) -> None:
        if scenario is None:
            self._defaults.pop((namespace, api), None)
        else:
            self._defaults[(namespace, api)] = scenario

    # -- uploaded scenarios ------------------------------------------------------------------------
    async def upload(self, api: str, name: str, data: Mapping[str, Any], source: str) -> None:
        added = self._uploads.setdefault(api, {})
        added.pop(name, None)
        added[name] = (data, source)  # at the end: laid over the ones uploaded before

    async def discard_upload(self, api: str, name: str) -> None:
        self._uploads.get(api, {}).pop(name, None)

    async def uploads(self) -> dict[str, dict[str, tuple[Mapping[str, Any], str]]]:
        return {api: dict(added) for api, added in self._uploads.items()}

    # -- journal -----------------------------------------------------------------------------------
    async def append_journal(self, namespace: str, entry: JournalEntry) -> None:
        self.journal_entries.record(entry)

    async def journal(self, namespace: str) -> list[JournalEntry]:
        return self.journal_entries.entries(namespace)

    async def clear_journal(self, namespace: str) -> None:
        self.journal_entries.clear(namespace)

    async def journal_length(self, namespace: str) -> int:
        return self.journal_entries.count(namespace)

    async def journal_after(self, namespace: str, seen: int | None) -> tuple[int, list[JournalEntry]]:
        return 0, []  # entries reach the dashboard as they are recorded (Journal.on_record)

    # -- vendor data -------------------------------------------------------------------------------
    async def vendor_get(self, namespace: str, api: str, key: str) -> Any:
        found = self._vendor.get(_kind(namespace, api, key), {}).get(key)
        return found[0] if found is not None else None

    async def vendor_put(
        self, namespace: str, api: str, key: str, value: Any, *, now: float, ttl: float
    ) -> None:
        values = self._vendor.setdefault(_kind(namespace, api, key), {})
        values.pop(key, None)
        values[key] = (value, now + ttl)
        for old in list(itertools.islice(values, 64)):  # oldest first (dicts keep insertion order)
            if len(values) > VENDOR_MEMORY or values[old][1] < now:
                del values[old]
            else:
                break

    async def take_token(self, namespace: str, api: str, key: str) -> dict[str, Any] | None:
        found = self._vendor.get(_kind(namespace, api, key), {}).get(key)
        if found is None:
            return None
        grant: dict[str, Any] = found[0]
        taken = dict(grant)
        grant["used"] = True
        return taken

    # -- reset -------------------------------------------------------------------------------------
    async def reset(self, namespace: str) -> None:
        if namespace != DEFAULT_NAMESPACE:
            self._offsets.pop(namespace, None)
        self.resources_by_key.forget(namespace)
        self.journal_entries.clear(namespace)
        for key in [key for key in self._queues if key[0] == namespace]:
            del self._queues[key]
        for key in [key for key in self._defaults if key[0] == namespace]:
            del self._defaults[key]
        for kind in [kind for kind in self._vendor if kind[0] == namespace]:
            del self._vendor[kind]


def _kind(namespace: str, api: str, key: str) -> tuple[str, str, str]:
    return namespace, api, key.partition(":")[0]

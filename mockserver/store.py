"""The in-memory store of created resources, bounded by age and count.

Everything runs on one event loop and no method awaits, so a read-modify-write never interleaves
with another request: nothing is lost under concurrent use.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lifecycle.timeline import Timeline


@dataclass(slots=True, eq=False)
class Resource:
    """One created resource: its scenario timeline plus what the mock remembers about it."""

    api: str
    id: str
    scope: dict[str, str]
    scenario: str
    timeline: Timeline
    request: Any
    touched_at: float
    extra: dict[str, Any] = field(default_factory=dict)  # vendor data: callback outcome, tokens, edits
    bodies: dict[str, Any] = field(default_factory=dict)  # fake parts per operation, made once
    watchers: int = 0  # open streams and callback tasks: such a resource is never evicted
    _changed: asyncio.Event | None = None

    @property
    def created_at(self) -> float:
        return self.timeline.created_at

    def changed(self) -> asyncio.Event:
        """Set whenever a command changes the timeline, so waiting tasks re-evaluate at once."""
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    def notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None


class Store:
    """Resources by (api, id) in creation order; evicts idle ones beyond ``max_count`` or ``max_age``."""

    def __init__(self, max_count: int, max_age: float) -> None:
        self.max_count = max_count
        self.max_age = max_age
        self._items: OrderedDict[tuple[str, str], Resource] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, api: str, resource_id: str) -> Resource | None:
        return self._items.get((api, resource_id))

    def add(self, resource: Resource, now: float, is_done: Callable[[Resource], bool]) -> None:
        self._items[(resource.api, resource.id)] = resource
        self._evict(now, is_done)

    def remove(self, resource: Resource) -> None:
        self._items.pop((resource.api, resource.id), None)

    def of(self, api: str) -> Iterator[Resource]:
        return (resource for (owner, _), resource in self._items.items() if owner == api)

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._items.values()))

    def clear(self) -> None:
        self._items.clear()

    def _evict(self, now: float, is_done: Callable[[Resource], bool]) -> None:
        """Drop resources idle longer than max_age, then the oldest finished ones beyond max_count.

        In-flight resources (not finished, or watched by a stream or a callback) are kept; only
        when there are more of them than max_count do the oldest unwatched ones go.
        """
        for key, resource in list(self._items.items()):
            if resource.watchers == 0 and now - resource.touched_at > self.max_age:
                del self._items[key]
        for keep_in_flight in (True, False):
            if len(self._items) <= self.max_count:
                return
            for key, resource in list(self._items.items()):
                if len(self._items) <= self.max_count:
                    return
                if resource.watchers == 0 and (is_done(resource) or not keep_in_flight):
                    del self._items[key]

"""The in-memory store of created resources, bounded by age and count.

Everything runs on one event loop and no method awaits, so a read-modify-write never interleaves
with another request: nothing is lost under concurrent use.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from lifecycle.timeline import Timeline
from mockserver.state.namespaces import DEFAULT_NAMESPACE

log = logging.getLogger("comeback.mock")


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
    namespace: str = DEFAULT_NAMESPACE  # clients sharing one mock are kept apart
    extra: dict[str, Any] = field(default_factory=dict)  # vendor data: callback outcome, tokens, edits
    bodies: dict[str, Any] = field(default_factory=dict)  # fake parts per operation, made once
    encoded: dict[str, tuple[tuple[int, int], bytes]] = field(default_factory=dict)  # read bodies by version
    watchers: int = 0  # open streams and callback tasks: such a resource is never evicted
    waiters: list[asyncio.Future[str]] = field(default_factory=list)  # tasks sleeping until it changes

    @property
    def created_at(self) -> float:
        return self.timeline.created_at

    def notify(self) -> None:
        """A command changed the timeline: wake every task sleeping on this resource at once."""
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result("changed")
        self.waiters.clear()


class Store:
    """Resources by (namespace, api, id), oldest first; evicts idle ones beyond ``max_count``/``max_age``."""

    def __init__(self, max_count: int, max_age: float) -> None:
        self.max_count = max_count
        self.max_age = max_age
        self._items: OrderedDict[tuple[str, str, str], Resource] = OrderedDict()
        self._swept_at: dict[str, float] = {}  # per namespace: each has its own clock
        # the clock reading of a resource's namespace (a manual clock is kept per namespace)
        self.now_of: Callable[[Resource], float] = lambda resource: resource.touched_at

    def __len__(self) -> int:
        return len(self._items)

    def get(self, namespace: str, api: str, resource_id: str) -> Resource | None:
        return self._items.get((namespace, api, resource_id))

    def add(self, resource: Resource, is_done: Callable[[Resource], bool]) -> None:
        self._items[(resource.namespace, resource.api, resource.id)] = resource
        self._evict(resource.namespace, resource.touched_at, is_done)

    def remove(self, resource: Resource) -> None:
        self._items.pop((resource.namespace, resource.api, resource.id), None)

    def of(self, namespace: str | None, api: str | None) -> Iterator[Resource]:
        """The namespace's resources (None: every namespace's) of ``api`` (None: of every API),
        oldest first."""
        return (
            resource
            for (space, owner, _), resource in self._items.items()
            if (namespace is None or space == namespace) and (api is None or owner == api)
        )

    def __iter__(self) -> Iterator[Resource]:
        return iter(list(self._items.values()))

    def clear(self) -> None:
        self._items.clear()

    def forget(self, namespace: str) -> None:
        """Drop the namespace's resources."""
        for key in [key for key in self._items if key[0] == namespace]:
            del self._items[key]
        self._swept_at.pop(namespace, None)

    def _evict(self, namespace: str, now: float, is_done: Callable[[Resource], bool]) -> None:
        """Drop resources idle longer than max_age, then the oldest finished ones beyond max_count.

        In-flight resources (not finished, or watched by a stream or a callback) are kept; only
        when there are more of them than max_count do the oldest unwatched ones go. The age sweep
        looks at every resource, so it runs on a create at most every hundredth of max_age (and at
        least once a second): with the default hour, a resource outlives its age by 36 s at most,
        and 10,000 resources cost a sweep every 36 s instead of every second. Ages are read on
        each resource's own namespace clock (``now_of``): one namespace's clock moving on ages
        no other's resources.
        """
        if now - self._swept_at.get(namespace, float("-inf")) >= max(1.0, self.max_age / 100):
            self._swept_at[namespace] = now
            now_of = self.now_of
            for key, resource in list(self._items.items()):
                if resource.watchers == 0 and now_of(resource) - resource.touched_at > self.max_age:
                    del self._items[key]
        for keep_in_flight in (True, False):
            excess = len(self._items) - self.max_count
            if excess <= 0:
                return
            victims = []
            for key, resource in self._items.items():  # oldest first; stop once enough are found
                if resource.watchers == 0 and (is_done(resource) or not keep_in_flight):
                    victims.append(key)
                    if len(victims) == excess:
                        break
            for key in victims:
                resource = self._items.pop(key)
                if not keep_in_flight:  # every finished one went in the first pass: these are in flight
                    log.warning(
                        "--max-resources %d reached with every resource in flight: forgot %s %s "
                        "(state %s, the oldest not watched by a stream or callback)",
                        self.max_count,
                        resource.api,
                        resource.id,
                        resource.timeline.state,
                    )

"""The Redis store's local cache: bounded by ``max_resources``, trimmed oldest-used first, and a
full cache pays for the one entry it drops, not a walk over every entry, on each create."""

from __future__ import annotations

from typing import Any

from mockserver.state.redis_link import RedisLink
from mockserver.state.redis_resources import Key, RedisResources
from mockserver.state.store_url import parse_store
from tests.mockserver.conftest import settings


class Counted:
    """Stands in for a cached ``Resource``: counts how often the trim looks at it."""

    looks = 0

    def __init__(self, watchers: int = 0) -> None:
        self._watchers = watchers

    @property
    def watchers(self) -> int:
        Counted.looks += 1
        return self._watchers


def _resources(limit: int) -> RedisResources:
    # a link connects on first use: none is made here (nothing is read or written)
    location = parse_store("redis://127.0.0.1:1/0")
    assert location is not None
    link = RedisLink(location, lambda message: None, lambda: None)
    return RedisResources(link, settings(max_resources=limit))


def test_a_full_cache_drops_its_oldest_unwatched_entry_looking_at_few() -> None:
    items = _resources(1000)
    keys: list[Key] = [("default", "letta", f"run-{n}") for n in range(1001)]
    watched: Any = Counted(watchers=1)
    items.remember(keys[0], watched, [])  # the oldest is watched by a stream: it stays
    for key in keys[1:1000]:
        items.remember(key, Counted(), [])  # type: ignore[arg-type]
    Counted.looks = 0
    items.remember(keys[1000], Counted(), [])  # type: ignore[arg-type]
    assert len(items.cache) == 1000
    assert keys[0] in items.cache
    assert keys[1] not in items.cache
    assert Counted.looks <= 2  # the watched one and the first unwatched one: not all 1,001

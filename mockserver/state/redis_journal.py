"""The request journal on Redis: written in batches, and followed live by any instance's dashboard.

Entries are cleaned (masked and cut) as they are recorded and written in batches
(``JOURNAL_FLUSH_SECONDS``), so a request never waits for the store: one transaction per batch
pushes each namespace's entries on its capped list (``LPUSH`` + ``LTRIM``, newest first) and adds
their number to the namespace's count (``INCRBY``), which only ever grows (a reset starts it over).

A live feed (the dashboard's ``EventHub``, while someone watches the namespace on this instance)
follows the count: ``after(namespace, seen)`` returns the count and, in the same script, the
entries written since ``seen`` by every instance, at most ``FEED_ENTRIES`` and ``FEED_BYTES`` of
them (the newest), so a feed costs one small round trip per poll, nothing on a request's path, and
a bounded answer however busy the mock is.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mockserver.journal import Journal, JournalEntry
from mockserver.masking import Masker
from mockserver.settings import Settings
from mockserver.state.base import StoreUnavailableError
from mockserver.state.redis_codec import entry_from_bytes, entry_to_bytes
from mockserver.state.redis_link import RedisLink

log = logging.getLogger("comeback.mock")
JOURNAL_FLUSH_SECONDS = 0.05  # journal entries wait at most this long to be written, in one batch
FEED_ENTRIES = 500  # entries one poll of a live feed returns at most (a dashboard shows the newest)
FEED_BYTES = 256 * 1024  # and bytes

# KEYS: the count, the list; ARGV: the count seen before (-1: none), FEED_ENTRIES, FEED_BYTES
_AFTER = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
local since = tonumber(ARGV[1])
local out = {count}
if since < 0 or count == since then return out end
local new = count - since
if new < 0 then new = count end
new = math.min(new, tonumber(ARGV[2]))
if new == 0 then return out end
local budget = tonumber(ARGV[3])
for _, entry in ipairs(redis.call('LRANGE', KEYS[2], 0, new - 1)) do
  budget = budget - #entry
  if budget < 0 then break end
  out[#out + 1] = entry
end
return out
"""


class RedisJournal:
    """The journal half of the Redis store (the ``StateStore`` journal methods, and ``after``)."""

    def __init__(self, link: RedisLink, settings: Settings, masker: Masker) -> None:
        self.link = link
        self.keys = link.keys
        self.size = settings.journal_size
        # masks and cuts entries before they are written (the journal's own rules and limits)
        self._cleaner = Journal(1, 1 << 62, settings.journal_value_bytes, settings.journal_body_bytes, masker)
        self._waiting: list[tuple[str, bytes]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._after = link.client.register_script(_AFTER)

    def count_key(self, namespace: str) -> str:
        return self.keys.journal(namespace) + "-count"

    def append(self, namespace: str, entry: JournalEntry) -> None:
        self._waiting.append((namespace, entry_to_bytes(self._cleaner.clean(entry))))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    async def entries(self, namespace: str) -> list[JournalEntry]:
        await self.flush()
        found = await self.link.run(lambda: self.link.client.lrange(self.keys.journal(namespace), 0, -1))
        return [entry_from_bytes(item) for item in reversed(found)]

    async def length(self, namespace: str) -> int:
        waiting = sum(ns == namespace for ns, _ in self._waiting)
        stored = await self.link.run(lambda: self.link.client.llen(self.keys.journal(namespace)))
        return min(self.size, int(stored) + waiting)

    async def clear(self, namespace: str) -> None:
        await self.flush()
        await self.link.run(lambda: self.link.client.delete(self.keys.journal(namespace)))

    def drop(self, namespace: str) -> None:
        """Forget the namespace's entries not written yet (it was reset)."""
        self._waiting = [(ns, data) for ns, data in self._waiting if ns != namespace]

    async def after(self, namespace: str, seen: int | None) -> tuple[int, list[JournalEntry]]:
        """The namespace's count of entries ever written, and those written since ``seen`` (a count
        this returned before; None: nothing, only the count), oldest first."""
        if seen is None:  # a feed starts: what waits here is written first, so the count covers it
            await self.flush()  # (the page's snapshot shows it; the feed would show it again)
        keys = (self.count_key(namespace), self.keys.journal(namespace))
        args = (-1 if seen is None else seen, FEED_ENTRIES, FEED_BYTES)
        found = await self.link.run(lambda: self._after(keys=keys, args=args))
        return int(found[0]), [entry_from_bytes(item) for item in reversed(found[1:])]

    async def close(self) -> None:
        """Write what waits (the store may be away: then it is lost, and said so)."""
        try:
            await self.flush()
        except StoreUnavailableError:
            log.warning("journal entries not written: the store is away")
        if self._flusher is not None:
            self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)

    async def _flush_later(self) -> None:
        await asyncio.sleep(JOURNAL_FLUSH_SECONDS)
        try:
            await self.flush()
        except StoreUnavailableError:
            log.warning("journal entries dropped: the store is away")

    async def flush(self) -> None:
        batch, self._waiting = self._waiting, []
        if not batch:
            return

        async def write() -> Any:
            # one transaction: a feed that reads the count reads the entries it counts
            async with self.link.client.pipeline(transaction=True) as pipe:
                for namespace in dict.fromkeys(ns for ns, _ in batch):
                    name = self.keys.journal(namespace)
                    written = [data for ns, data in batch if ns == namespace]
                    pipe.lpush(name, *written)
                    pipe.ltrim(name, 0, self.size - 1)
                    pipe.incrby(self.count_key(namespace), len(written))
                return await pipe.execute()

        await self.link.run(write)

"""Live events for watchers of the mock (the dashboard): what the engine does, as it happens.

The engine calls the hub (a resource created or changed or deleted, a journal entry, the clock
moved, a reset); each subscriber collects what concerns it in bounded buffers until its stream
writer takes it:

- changed resources are coalesced by key: a resource that changed ten times while a page was busy
  is sent once, as it is now;
- journal entries keep only the newest ``journal_limit`` (older ones are counted as dropped);
- beyond ``pending_limit`` coalesced resources the subscriber starts over from a fresh snapshot.

So a slow or stalled page never grows the mock's memory beyond those bounds. Time-driven steps are
computed lazily by the engine (when someone looks), so the hub runs a scheduler, only while someone
subscribes, that looks at each resource when its next change is due and publishes the change.

On a shared store the journal is written by every instance, in batches: while someone subscribes,
the hub follows it (``StateStore.journal_after``, every ``FOLLOW_SECONDS``), so a page open on one
instance shows the requests another served moments later, bounded per poll by the store, and
without a round trip on any request's path. (The memory store hands each entry over as it is
recorded: the engine calls ``journal_recorded``.)
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from lifecycle.timeline import advance
from mockserver.clock import Clock, ManualClock
from mockserver.journal import JournalEntry
from mockserver.state.base import StateStore, StoreUnavailableError
from mockserver.store import Resource

Key = tuple[str, str]  # (api, resource id)
FOLLOW_SECONDS = 0.1  # how often a watched namespace's shared journal is asked for new entries


@dataclass(slots=True)
class Batch:
    """What a subscriber has to send: changed resources (None: deleted), journal entries, flags."""

    resources: dict[Key, Resource | None] = field(default_factory=dict)
    journal: list[tuple[int, JournalEntry]] = field(default_factory=list)
    journal_dropped: int = 0
    clock: bool = False
    restart: bool = False  # send a fresh snapshot instead (a reset, or more changes than the bounds)


class Subscriber:
    """One open event stream; ``only`` limits it to one resource (a detail view)."""

    def __init__(self, only: Key | None, pending_limit: int, journal_limit: int) -> None:
        self.only = only
        self.pending_limit = pending_limit
        self.wake = asyncio.Event()
        self._resources: dict[Key, Resource | None] = {}
        self._journal: deque[tuple[int, JournalEntry]] = deque(maxlen=journal_limit)
        self._journal_dropped = 0
        self._clock = False
        self._restart = False
        self.closed = False  # the mock is shutting down: the writer ends its stream

    def resource(self, key: Key, resource: Resource | None) -> None:
        if self._restart or (self.only is not None and key != self.only):
            return
        self._resources[key] = resource
        if len(self._resources) > self.pending_limit:
            self.restart()
        self.wake.set()

    def journal(self, number: int, entry: JournalEntry) -> None:
        if self._restart:
            return
        if self.only is not None and (entry.api, entry.resource_id) != self.only:
            return
        if len(self._journal) == self._journal.maxlen:
            self._journal_dropped += 1
        self._journal.append((number, entry))
        self.wake.set()

    def clock(self) -> None:
        self._clock = True
        self.wake.set()

    def restart(self) -> None:
        """Drop everything buffered: the writer sends a fresh snapshot instead."""
        self._resources.clear()
        self._journal.clear()
        self._restart = True
        self.wake.set()

    def take(self) -> Batch:
        """Everything buffered so far (the buffers start empty again)."""
        batch = Batch(
            dict(self._resources), list(self._journal), self._journal_dropped, self._clock, self._restart
        )
        self._resources.clear()
        self._journal.clear()
        self._journal_dropped, self._clock, self._restart = 0, False, False
        self.wake.clear()
        return batch


class EventHub:
    """Fans the engine's changes in ``namespace`` out to subscribers; costs nothing while nobody
    subscribes. Reads the namespace's resources (and a shared journal) from ``state``."""

    def __init__(
        self,
        clock: Clock,
        state: StateStore,
        namespace: str,
        speed: float,
        *,
        pending_limit: int = 20_000,
        journal_limit: int = 500,
    ) -> None:
        self.clock = clock
        self.find: Callable[[str, str], Awaitable[Resource | None]] = partial(state.get, namespace)
        self.resources: Callable[[], Awaitable[list[Resource]]] = partial(state.resources, namespace)
        self.follow = partial(state.journal_after, namespace) if state.shared else None
        self.speed = speed
        self.pending_limit = pending_limit
        self.journal_limit = journal_limit
        self.subscribers: set[Subscriber] = set()
        self._journal_numbers = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._due: list[tuple[float, int, Resource]] = []  # heap of (next change, tie-breaker, resource)
        self._scheduled: dict[Key, float] = {}
        self._order = itertools.count()
        self._poke = asyncio.Event()
        self._scheduler: asyncio.Task[None] | None = None
        self._follower: asyncio.Task[None] | None = None

    # -- subscribing --------------------------------------------------------------------------
    async def subscribe(self, only: Key | None = None) -> Subscriber:
        """A new subscriber (call on the event loop); the scheduler starts with the first one."""
        self._loop = asyncio.get_running_loop()
        subscriber = Subscriber(only, self.pending_limit, self.journal_limit)
        first = not self.subscribers
        self.subscribers.add(subscriber)  # before any await: a second subscriber starts no scheduler
        if first:
            self._due.clear()
            self._scheduled.clear()
            self._scheduler = self._loop.create_task(self._run_scheduler())
            if self.follow is not None:  # from the journal's count now: the snapshot shows what was before
                seen = await self._seen()
                self._follower = self._loop.create_task(self._follow_journal(seen))
            for resource in await self.resources():
                self._schedule(resource)
        return subscriber

    def close(self) -> None:
        """End every event stream (call when the server shuts down, so that it need not wait for
        open pages to leave). Subscribing again opens them anew."""
        if self._deliver(self.close):
            for subscriber in self.subscribers:
                subscriber.closed = True
                subscriber.wake.set()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        if not self.subscribers:
            for task in (self._scheduler, self._follower):
                if task is not None:
                    task.cancel()
            self._scheduler = self._follower = None

    # -- what the engine reports ----------------------------------------------------------------
    def resource_changed(self, resource: Resource) -> None:
        if self._deliver(self.resource_changed, resource):
            key = (resource.api, resource.id)
            for subscriber in self.subscribers:
                subscriber.resource(key, resource)
            self._schedule(resource)

    def resource_deleted(self, resource: Resource) -> None:
        if self._deliver(self.resource_deleted, resource):
            key = (resource.api, resource.id)
            self._scheduled.pop(key, None)
            for subscriber in self.subscribers:
                subscriber.resource(key, None)

    def journal_recorded(self, entry: JournalEntry) -> None:
        if self._deliver(self.journal_recorded, entry):
            number = next(self._journal_numbers)
            for subscriber in self.subscribers:
                subscriber.journal(number, entry)

    def clock_moved(self) -> None:
        if self._deliver(self.clock_moved):
            for subscriber in self.subscribers:
                subscriber.clock()
            self._poke.set()

    def reset(self) -> None:
        if self._deliver(self.reset):
            self._due.clear()
            self._scheduled.clear()
            for subscriber in self.subscribers:
                subscriber.restart()

    def _deliver(self, method: Any, *args: Any) -> bool:
        """True to go on here; False when nobody listens, or when called from another thread (tests
        advance the clock from theirs), in which case the call is handed to the event loop's thread."""
        if not self.subscribers or self._loop is None:
            return False
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return True
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(method, *args)
        return False

    # -- a shared journal -------------------------------------------------------------------------
    async def _seen(self) -> int | None:
        assert self.follow is not None
        try:
            return (await self.follow(None))[0]
        except StoreUnavailableError:
            return None  # the follower starts counting once the store answers

    async def _follow_journal(self, seen: int | None) -> None:
        """Hand the journal entries every instance writes to the subscribers, as they are written."""
        assert self.follow is not None
        while True:
            await asyncio.sleep(FOLLOW_SECONDS)
            try:
                seen, entries = await self.follow(seen)
            except StoreUnavailableError:
                continue  # asked again at the next poll
            for entry in entries:
                self.journal_recorded(entry)

    # -- time-driven changes ----------------------------------------------------------------------
    def _schedule(self, resource: Resource) -> None:
        due = resource.timeline.next_change_at()
        key = (resource.api, resource.id)
        if due is None or self._scheduled.get(key) == due:
            return
        self._scheduled[key] = due
        heapq.heappush(self._due, (due, next(self._order), resource))
        self._poke.set()

    async def _run_scheduler(self) -> None:
        """Publish each resource's time-driven change when it is due on the mock's clock."""
        while True:
            now = self.clock.now()
            while self._due and self._due[0][0] <= now:
                due, _, resource = heapq.heappop(self._due)
                key = (resource.api, resource.id)
                if self._scheduled.get(key) != due:
                    continue  # rescheduled since
                del self._scheduled[key]
                if await self.find(*key) is not resource:
                    continue  # evicted meanwhile
                before = len(resource.timeline.history)
                resource.timeline = advance(resource.timeline, now)
                if len(resource.timeline.history) != before:
                    self.resource_changed(resource)  # publishes, and schedules the next change
                else:  # someone looked first and moved it already: only its next change is new
                    self._schedule(resource)
            self._poke.clear()
            timeout = None
            if self._due and not isinstance(self.clock, ManualClock):  # manual: a clock move pokes
                timeout = max(0.0, (self._due[0][0] - now) / self.speed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout)

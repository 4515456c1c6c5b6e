"""Waits: tasks sleeping until a moment on a namespace's clock, a change, or a real delay, on shared
wake-ups: one loop timer per millisecond.

Thousands of open streams each sleep until their next token. A loop timer per sleep (uvloop makes
a libuv handle for each, and each sleep also cancels one) costs more than the frame it waits for;
here the sleeps due in the same millisecond share one slot, and one loop timer is armed, for the
earliest slot. The loop's timers have millisecond resolution anyway (libuv's), so grouping by
millisecond delays no one; a slot is woken when its millisecond has begun.
"""

from __future__ import annotations

import asyncio
import heapq
import math
from typing import Any

from mockserver.clock import Clocks, ManualClock
from mockserver.store import Resource

QUANTUM = 0.001  # seconds of loop time per slot


class WakeUps:
    """Futures resolved with a value at a loop time, grouped into millisecond slots, for one loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._slots: dict[int, dict[asyncio.Future[Any], Any]] = {}
        self._ticks: list[int] = []  # a heap of the slots' keys (each once)
        self._armed: asyncio.TimerHandle | None = None
        self._armed_for: int | None = None

    def after(self, delay: float, waiter: asyncio.Future[Any], value: Any) -> int:
        """Resolve ``waiter`` with ``value`` ``delay`` seconds from now (unless it is done by then);
        returns the slot, for ``forget``."""
        tick = math.ceil((self.loop.time() + max(0.0, delay)) / QUANTUM)
        slot = self._slots.get(tick)
        if slot is None:
            slot = self._slots[tick] = {}
            heapq.heappush(self._ticks, tick)
            if self._armed_for is None or tick < self._armed_for:
                self._arm(tick)
        slot[waiter] = value
        return tick

    def forget(self, tick: int, waiter: asyncio.Future[Any]) -> None:
        """``waiter`` no longer needs its wake-up in slot ``tick`` (it woke for another reason)."""
        slot = self._slots.get(tick)
        if slot is not None:
            slot.pop(waiter, None)

    def __len__(self) -> int:
        """Wake-ups still pending."""
        return sum(len(slot) for slot in self._slots.values())

    def _arm(self, tick: int) -> None:
        if self._armed is not None:
            self._armed.cancel()
        self._armed_for = tick
        self._armed = self.loop.call_at(tick * QUANTUM, self._fire)

    def _fire(self) -> None:
        self._armed = self._armed_for = None
        # every slot whose moment has come (allowing for the float division: 10 microseconds); a
        # slot not due yet (a loop that runs timers a hair early) is simply armed again
        limit = self.loop.time() / QUANTUM + 0.01
        while self._ticks and self._ticks[0] <= limit:
            slot = self._slots.pop(heapq.heappop(self._ticks))
            for waiter, value in slot.items():
                if not waiter.done():
                    waiter.set_result(value)
        if self._ticks:
            self._arm(self._ticks[0])


class Waits:
    """Every task waiting in ``sleep_until`` or ``pause``; ``shutdown`` ends them all at once."""

    def __init__(self, clocks: Clocks, speed: float) -> None:
        self.clocks = clocks
        self.speed = speed
        self.closing = False  # the process is shutting down: streams end, nothing new waits
        self._sleepers: set[asyncio.Future[str]] = set()
        self._wakeups: dict[asyncio.AbstractEventLoop, WakeUps] = {}  # their timers, shared, per loop

    def shutdown(self) -> None:
        """End every wait at once (call on the event loop)."""
        self.closing = True
        for waiter in list(self._sleepers):
            if not waiter.done():
                waiter.set_result("shutdown")

    async def sleep_until(self, resource: Resource, moment: float | None, idle: float | None = None) -> str:
        """Sleep until ``moment`` on the mock's clock ("due"), until a command changes ``resource``
        ("changed"), or for ``idle`` real seconds ("idle"), whichever comes first. One future in
        shared millisecond slots (``WakeUps``): thousands of open streams wait this way at once."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        if self.closing:
            return "shutdown"
        resource.waiters.append(waiter)
        self._sleepers.add(waiter)
        wakeups = self.wakeups(loop)
        slots = []
        delay = None
        if moment is not None:
            clock = self.clocks.of(resource.namespace)
            if isinstance(clock, ManualClock):
                clock.resolve_at(moment, waiter, "due")
            else:
                delay = max(0.0, (moment - clock.now()) / self.speed)
                slots.append(wakeups.after(delay, waiter, "due"))
        if idle is not None and (delay is None or delay >= idle):  # else "due" always comes first
            slots.append(wakeups.after(idle, waiter, "idle"))
        try:
            return await waiter
        finally:
            for slot in slots:
                wakeups.forget(slot, waiter)
            self._sleepers.discard(waiter)
            if waiter in resource.waiters:
                resource.waiters.remove(waiter)

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` real seconds (a fault's delay); False when cut short by shutdown."""
        if self.closing:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        self._sleepers.add(waiter)
        wakeups = self.wakeups(loop)
        slot = wakeups.after(seconds, waiter, "due")
        try:
            return await waiter == "due"
        finally:
            wakeups.forget(slot, waiter)
            self._sleepers.discard(waiter)

    def wakeups(self, loop: asyncio.AbstractEventLoop) -> WakeUps:
        """The shared timers of the waits on ``loop`` (tests may serve one engine from several loops)."""
        found = self._wakeups.get(loop)
        if found is None:
            for closed in [known for known in self._wakeups if known.is_closed()]:
                del self._wakeups[closed]
            found = self._wakeups[loop] = WakeUps(loop)
        return found

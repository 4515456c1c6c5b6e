"""Shared wake-ups: every task sleeping until a moment, on one loop timer per millisecond.

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

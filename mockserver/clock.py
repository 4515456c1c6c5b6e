"""Clocks: real, scaled and manual. Every time the mock uses comes from one of these.

``now()`` is seconds since the epoch (so it renders as a timestamp). Tasks sleep until a clock reading
through ``Engine.sleep_until``; on the manual clock that means until someone advances it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class ScaledClock:
    """Real time, optionally running ``speed`` times faster from the moment it was made."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin_wall = time.time()
        self._origin_mono = time.monotonic()

    def now(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed


class ManualClock:
    """A clock that moves only when ``advance`` is called (tests never sleep to see a transition)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._waiters: list[tuple[float, asyncio.Future[Any], Any]] = []

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and wake every task waiting for a moment that has now come."""
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._now += seconds
        for moment, waiter, value in self._waiters:
            if moment <= self._now and not waiter.done():
                waiter.set_result(value)
        self._waiters = [entry for entry in self._waiters if not entry[1].done()]
        return self._now

    def resolve_at(self, moment: float, waiter: asyncio.Future[Any], value: Any) -> None:
        """Resolve ``waiter`` with ``value`` once the clock reaches ``moment`` (at once if it has)."""
        if self._now >= moment:
            if not waiter.done():
                waiter.set_result(value)
            return
        self._waiters.append((moment, waiter, value))

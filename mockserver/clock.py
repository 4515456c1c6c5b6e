"""Clocks: real, scaled and manual. Every time the mock uses comes from one of these.

``now()`` is seconds since the epoch (so it renders as a timestamp). Tasks sleep until a clock reading
through ``Engine.sleep_until``; on the manual clock that means until someone advances it. ``Clocks``
gives each namespace its clock: the real one is shared, a manual one is kept per namespace.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from mockserver.state.namespaces import DEFAULT_NAMESPACE


class Clock(Protocol):
    def now(self) -> float: ...


class ScaledClock:
    """Real time, optionally running ``speed`` times faster from the moment it was made."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin_wall = self.start = time.time()
        self._origin_mono = time.monotonic()

    def now(self) -> float:
        return self._origin_wall + (time.monotonic() - self._origin_mono) * self.speed

    def rebase(self, start: float) -> None:
        """Read as a clock started at ``start`` would (another process's: a shared store's clock)."""
        self._origin_wall = start + (self.start - start) * self.speed
        self.start = start


class ManualClock:
    """A clock that moves only when ``advance`` is called (tests never sleep to see a transition)."""

    def __init__(self, start: float | None = None) -> None:
        self._now = self.start = time.time() if start is None else start
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


class Clocks:
    """The clock of each namespace. A real or scaled clock is shared by all; a manual one is kept
    per namespace (each starting where the first one started), so advancing one namespace's clock
    moves no other. ``offset`` is what a store keeps: seconds advanced since the start."""

    def __init__(self, base: Clock) -> None:
        self.base = base
        self.manual = isinstance(base, ManualClock)
        self._manual: dict[str, ManualClock] = {}

    def of(self, namespace: str) -> Clock:
        if not self.manual or namespace == DEFAULT_NAMESPACE:
            return self.base  # the default namespace's is the clock the mock was made with
        found = self._manual.get(namespace)
        if found is None:
            found = self._manual[namespace] = ManualClock(self.start)
        return found

    @property
    def start(self) -> float:
        start: float = getattr(self.base, "start", 0.0)
        return start

    def rebase(self, start: float) -> None:
        """Start every clock at ``start`` (a shared store's, so every process reads the same)."""
        if isinstance(self.base, ScaledClock):
            self.base.rebase(start)
        elif start != self.start:
            self.base = ManualClock(start)
            self._manual.clear()

    def set_offset(self, namespace: str, offset: float) -> float:
        """Move a manual clock to ``start + offset`` (never back), waking those waiting for it."""
        clock = self.of(namespace)
        assert isinstance(clock, ManualClock)
        return clock.advance(max(0.0, self.start + offset - clock.now()))

    def forget(self, namespace: str) -> None:
        self._manual.pop(namespace, None)

"""Shared wake-ups (``mockserver.wakeups``): right value, right order, one loop timer per slot."""

from __future__ import annotations

import asyncio
from typing import Any

from mockserver.wakeups import QUANTUM, WakeUps


class CountingLoop:
    """Counts the timers a ``WakeUps`` arms on the running loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.armed = 0
        self.frozen: float | None = None  # while set, the time every caller reads

    def time(self) -> float:
        return self.loop.time() if self.frozen is None else self.frozen

    def call_at(self, when: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        self.armed += 1
        return self.loop.call_at(when, callback, *args)


def test_waiters_wake_in_the_order_of_their_moments_with_their_values() -> None:
    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        wakeups = WakeUps(loop)
        woken: list[str] = []
        waiters = []
        for name, delay in (("third", 0.012), ("first", 0.002), ("second", 0.007)):
            waiter: asyncio.Future[str] = loop.create_future()
            waiter.add_done_callback(lambda done: woken.append(done.result()))
            wakeups.after(delay, waiter, name)
            waiters.append(waiter)
        await asyncio.gather(*waiters)
        return woken

    assert asyncio.run(scenario()) == ["first", "second", "third"]


def test_a_forgotten_wake_up_never_comes_and_nothing_stays_pending() -> None:
    async def scenario() -> tuple[bool, int]:
        loop = asyncio.get_running_loop()
        wakeups = WakeUps(loop)
        forgotten: asyncio.Future[str] = loop.create_future()
        kept: asyncio.Future[str] = loop.create_future()
        wakeups.forget(wakeups.after(0.001, forgotten, "due"), forgotten)
        wakeups.after(0.003, kept, "due")
        await kept
        return forgotten.done(), len(wakeups)

    assert asyncio.run(scenario()) == (False, 0)


def test_waits_due_in_the_same_millisecond_share_one_loop_timer() -> None:
    async def scenario() -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()
        counting = CountingLoop(loop)
        wakeups = WakeUps(counting)  # type: ignore[arg-type]
        # a moment in the middle of a slot, so every wait below falls into that same slot; the
        # clock stands still while they are made (a process descheduled for 5 ms between two of
        # them, on a loaded machine, once put the later ones in the slot of their own "now")
        counting.frozen = loop.time()
        moment = (int(counting.frozen / QUANTUM) + 5.5) * QUANTUM
        waiters = [loop.create_future() for _ in range(100)]
        for index, waiter in enumerate(waiters):
            wakeups.after(moment - counting.time(), waiter, f"w{index}")
        counting.frozen = None
        values = await asyncio.gather(*waiters)
        return counting.armed, values

    armed, values = asyncio.run(scenario())
    assert armed == 1
    assert values == [f"w{index}" for index in range(100)]


def test_an_earlier_wait_rearms_the_timer_and_a_later_one_does_not() -> None:
    async def scenario() -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()
        counting = CountingLoop(loop)
        wakeups = WakeUps(counting)  # type: ignore[arg-type]
        late: asyncio.Future[str] = loop.create_future()
        early: asyncio.Future[str] = loop.create_future()
        later: asyncio.Future[str] = loop.create_future()
        woken: list[str] = []
        for waiter in (late, early, later):
            waiter.add_done_callback(lambda done: woken.append(done.result()))
        wakeups.after(0.020, late, "late")  # armed
        wakeups.after(0.002, early, "early")  # armed again, earlier
        wakeups.after(0.030, later, "later")  # not armed: the timer is due sooner
        armed_before = counting.armed
        await asyncio.gather(late, early, later)
        return armed_before, woken

    assert asyncio.run(scenario()) == (2, ["early", "late", "later"])

"""Clocks: the manual clock wakes waiters only when advanced far enough; the scaled one runs faster."""

from __future__ import annotations

import asyncio
import time

import pytest

from mockserver.clock import ManualClock, ScaledClock


def test_manual_clock_wakes_waiters_exactly_when_their_moment_comes() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock(start=100.0)
        loop = asyncio.get_running_loop()
        waiters = {name: loop.create_future() for name in ("a", "b", "past")}
        clock.resolve_at(101.0, waiters["a"], "a")
        clock.resolve_at(105.0, waiters["b"], "b")
        clock.resolve_at(50.0, waiters["past"], "past")  # a moment already past resolves at once
        assert waiters["past"].done()
        clock.advance(0.5)
        assert not waiters["a"].done()
        clock.advance(0.5)
        assert waiters["a"].done()
        assert not waiters["b"].done()
        clock.advance(10)
        return [await waiters[name] for name in ("a", "b")]

    assert asyncio.run(scenario()) == ["a", "b"]


def test_manual_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        ManualClock(start=0.0).advance(-1)


def test_scaled_clock_runs_faster() -> None:
    clock = ScaledClock(speed=100.0)
    start = clock.now()
    time.sleep(0.05)
    assert clock.now() - start >= 5.0  # 0.05 real seconds are five mock seconds
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)

"""Clocks: the manual clock wakes waiters only when advanced far enough; the scaled one runs faster."""

from __future__ import annotations

import asyncio

import pytest

from mockserver.clock import ManualClock, ScaledClock


def test_manual_clock_wakes_waiters_exactly_when_their_moment_comes() -> None:
    async def scenario() -> list[str]:
        clock = ManualClock(start=100.0)
        woke: list[str] = []

        async def wait(name: str, moment: float) -> None:
            await clock.wait_until(moment)
            woke.append(name)

        tasks = [asyncio.ensure_future(wait("a", 101.0)), asyncio.ensure_future(wait("b", 105.0))]
        await asyncio.sleep(0)
        clock.advance(0.5)
        await asyncio.sleep(0)
        assert woke == []
        clock.advance(0.5)
        await asyncio.sleep(0)
        assert woke == ["a"]
        clock.advance(10)
        await asyncio.gather(*tasks)
        await clock.wait_until(50.0)  # a moment already past returns at once
        return woke

    assert asyncio.run(scenario()) == ["a", "b"]


def test_manual_clock_refuses_to_go_back() -> None:
    with pytest.raises(ValueError, match="cannot go back"):
        ManualClock(start=0.0).advance(-1)


def test_scaled_clock_runs_faster_and_sleeps_shorter() -> None:
    async def scenario() -> float:
        clock = ScaledClock(speed=100.0)
        start = clock.now()
        loop = asyncio.get_running_loop()
        began = loop.time()
        await clock.wait_until(start + 5.0)  # five mock seconds
        assert clock.now() >= start + 5.0
        return loop.time() - began

    assert asyncio.run(scenario()) < 1.0  # five mock seconds take about 0.05 real seconds
    with pytest.raises(ValueError, match="positive"):
        ScaledClock(speed=0)

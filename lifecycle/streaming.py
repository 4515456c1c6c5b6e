"""When a resource's streamed content is due: a pure projection of its timeline.

Tokens flow while the resource is in a working state (neither its initial nor a terminal state),
spread evenly over that phase when its end is scheduled, else at ``rate`` tokens per second.
Because the schedule is computed from the same timeline as the status, a stream can never be
ahead of, or behind, what the status endpoint shows.

    >>> schedule(timeline, lifecycle, count=20).due(now)
    7
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from dataclasses import dataclass

from lifecycle.model import Lifecycle
from lifecycle.timeline import Timeline
from lifecycle.timing import StreamTiming, token_offsets


@dataclass(frozen=True, slots=True)
class Phase:
    """The working phase: when it began and when it ends (None: open-ended so far)."""

    start: float
    end: float | None


def working_phase(timeline: Timeline, lifecycle: Lifecycle) -> Phase | None:
    """The span during which content flows, or None if the resource never worked (yet)."""
    for index, entry in enumerate(timeline.history):
        if entry.state != lifecycle.initial and not lifecycle.states[entry.state].terminal:
            ended = next(
                (
                    later.at
                    for later in timeline.history[index + 1 :]
                    if lifecycle.states[later.state].terminal
                ),
                None,
            )
            return Phase(entry.at, ended if ended is not None else timeline.next_change_at())
    return None


@dataclass(frozen=True, slots=True)
class Pace:
    """How tokens are paced: ``rate`` per second (None: spread over the working phase when its end
    is scheduled, else 10 per second), each moved by up to ``jitter`` of the gap (seeded by ``key``)."""

    rate: float | None = None
    jitter: float = 0.0
    key: str = ""
    stretch: float = 1.0  # >1: the reply would need longer than the phase (it gets cut off)
    timing: StreamTiming | None = None  # a recorded server's first-token delay, gaps and stall


DEFAULT_RATE = 10.0


def token_times(phase: Phase, count: int, pace: Pace) -> list[float]:
    """When each of ``count`` tokens is due within ``phase``; never earlier than the one before.
    A recorded stream's timing, when given, decides instead (its gaps drawn with the pace's key)."""
    if pace.timing is not None:
        offsets = token_offsets(pace.timing, count, lambda index: _draw(f"{pace.key}:gap:{index}"))
        return [phase.start + offset for offset in offsets]
    if pace.rate is None and phase.end is not None and phase.end > phase.start:
        gap = (phase.end - phase.start) * pace.stretch / (count + 1)
    else:
        gap = 1.0 / (pace.rate or DEFAULT_RATE)
    times = [phase.start + gap * (index + 1) for index in range(count)]
    if pace.jitter:
        times = [
            moment + (_draw(f"{pace.key}:{index}") - 0.5) * pace.jitter * gap
            for index, moment in enumerate(times)
        ]
        for index in range(1, count):
            times[index] = max(times[index], times[index - 1])
    return times


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a reply's tokens are due, computed once per timeline change (a stream asks often)."""

    times: tuple[float, ...]
    complete: bool  # ended well: every token is due
    until: float | None  # ended badly: nothing due after this moment

    def due(self, now: float) -> int:
        if self.complete:
            return len(self.times)
        limit = now if self.until is None else min(now, self.until)
        return bisect_right(self.times, limit)

    def next_at(self, sent: int) -> float | None:
        """When the next unsent token is due, or None if none will be due by time alone."""
        if self.complete or self.until is not None or sent >= len(self.times):
            return None
        return self.times[sent]


def schedule(
    timeline: Timeline, lifecycle: Lifecycle, count: int, pace: Pace = Pace(), *, cut_short: bool = False
) -> Schedule:
    """The schedule of ``count`` tokens: spread over the working phase, all due once the resource
    ended well, cut where it was when it ended badly or the stream is ``cut_short`` (an error signal)."""
    state = lifecycle.states[timeline.state]
    complete = state.terminal and not cut_short and not ended_badly(timeline, lifecycle)
    phase = working_phase(timeline, lifecycle)
    times = tuple(token_times(phase, count, pace)) if phase is not None else ()
    if complete:
        return Schedule(times or (timeline.current.at,) * count, True, None)
    return Schedule(times, False, timeline.current.at if state.terminal else None)


def _draw(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def ended_badly(timeline: Timeline, lifecycle: Lifecycle) -> bool:
    """Ended badly: cancelled, or in a terminal state that requires an error field. Content then
    stops where it was; after a good ending all of it is delivered."""
    cancel_to = lifecycle.cancel.to if lifecycle.cancel is not None else None
    state = lifecycle.states[timeline.state]
    return timeline.state == cancel_to or any("error" in field for field in state.present)

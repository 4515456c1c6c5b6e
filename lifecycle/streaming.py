"""When a resource's streamed content is due: a pure projection of its timeline.

Tokens flow while the resource is in a working state (neither its initial nor a terminal state),
spread evenly over that phase when its end is scheduled, else at ``rate`` tokens per second.
Because the schedule is computed from the same timeline as the status, a stream can never be
ahead of, or behind, what the status endpoint shows.

    >>> due_tokens(timeline, lifecycle, count=20, now=now)
    7
"""

from __future__ import annotations

from dataclasses import dataclass

from lifecycle.model import Lifecycle
from lifecycle.timeline import Timeline


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


def token_times(phase: Phase, count: int, rate: float) -> list[float]:
    """When each of ``count`` tokens is due within ``phase``."""
    if phase.end is not None and phase.end > phase.start:
        step = (phase.end - phase.start) / (count + 1)
        return [phase.start + step * (index + 1) for index in range(count)]
    return [phase.start + (index + 1) / rate for index in range(count)]


def due_tokens(timeline: Timeline, lifecycle: Lifecycle, count: int, now: float, rate: float = 10.0) -> int:
    """How many of ``count`` tokens are due by ``now`` (all of them once the resource completed)."""
    state = lifecycle.states[timeline.state]
    phase = working_phase(timeline, lifecycle)
    if phase is None:
        return count if state.terminal and not ended_badly(timeline, lifecycle) else 0
    due = sum(1 for moment in token_times(phase, count, rate) if moment <= now)
    if state.terminal:
        return count if not ended_badly(timeline, lifecycle) else min(due, count)
    return due


def next_token_at(
    timeline: Timeline, lifecycle: Lifecycle, count: int, sent: int, rate: float = 10.0
) -> float | None:
    """When the next unsent token is due, or None if none will be due by time alone."""
    phase = working_phase(timeline, lifecycle)
    if phase is None or sent >= count or lifecycle.states[timeline.state].terminal:
        return None
    return token_times(phase, count, rate)[sent]


def ended_badly(timeline: Timeline, lifecycle: Lifecycle) -> bool:
    """Ended badly: cancelled, or in a terminal state that requires an error field. Content then
    stops where it was; after a good ending all of it is delivered."""
    cancel_to = lifecycle.cancel.to if lifecycle.cancel is not None else None
    state = lifecycle.states[timeline.state]
    return timeline.state == cancel_to or any("error" in field for field in state.present)

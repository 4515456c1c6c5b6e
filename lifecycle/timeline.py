"""Timeline evaluation: where a resource is in its scenario, as a pure function of time and events.

A ``Timeline`` is a frozen value. ``advance`` moves it to ``now`` (time-driven steps begin exactly
``after`` seconds after the previous step began, however late anyone looks); ``count_read`` records
a read, which may begin a read-driven step; ``cancel`` and ``force_next`` are the commands. Time is
always an argument: this module never reads a clock.

    >>> timeline = start(scenario, now=0.0)
    >>> advance(timeline, now=5.0).state
    'completed'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from lifecycle.model import Lifecycle
from lifecycle.reactions import reaction_for
from lifecycle.scenario import Scenario, Step

Cause = Literal["created", "time", "reads", "cancel", "forced", "reaction"]


@dataclass(frozen=True, slots=True)
class Entry:
    """The resource entered ``state`` at ``at``; ``step`` is its scenario step (None for a cancel)."""

    state: str
    at: float
    step: int | None
    cause: Cause
    values: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Timeline:
    """A resource's walk through its scenario so far."""

    scenario: Scenario
    history: tuple[Entry, ...]
    reads: int = 0  # reads since the current entry began

    @property
    def current(self) -> Entry:
        return self.history[-1]

    @property
    def state(self) -> str:
        return self.current.state

    @property
    def created_at(self) -> float:
        return self.history[0].at

    @property
    def values(self) -> Mapping[str, Any]:
        """Field values the current step sets (e.g. error_message)."""
        return self.current.values

    def next_step(self) -> tuple[int, Step] | None:
        """The scenario step that comes next, unless a command took the resource off its script."""
        index = self.current.step
        if index is None or index + 1 >= len(self.scenario.steps):
            return None
        return index + 1, self.scenario.steps[index + 1]

    def next_change_at(self) -> float | None:
        """When the next time-driven step is due, or None if nothing will happen by time alone."""
        upcoming = self.next_step()
        if upcoming is None or upcoming[1].after is None:
            return None
        return self.current.at + upcoming[1].after


def start(scenario: Scenario, now: float) -> Timeline:
    """A resource created at ``now``: it is in the scenario's first step."""
    first = scenario.steps[0]
    return Timeline(scenario, (Entry(first.state, now, 0, "created", dict(first.set)),))


def advance(timeline: Timeline, now: float) -> Timeline:
    """Begin every time-driven step that is due by ``now``, each at its exact scheduled time."""
    steps = timeline.scenario.steps
    while True:  # next_change_at, inlined: this runs on every request that looks at a resource
        current = timeline.history[-1]
        index = current.step
        if index is None or index + 1 >= len(steps):
            return timeline
        step = steps[index + 1]
        if step.after is None or (due := current.at + step.after) > now:
            return timeline
        timeline = _enter(timeline, Entry(step.state, due, index + 1, "time", dict(step.set)))


def count_read(timeline: Timeline, now: float) -> Timeline:
    """Record one read at ``now``, after it was answered: the N-th read of a step still sees that
    step, and a step with ``after_reads: N`` begins right after it (the next read sees it)."""
    timeline = advance(timeline, now)
    timeline = Timeline(timeline.scenario, timeline.history, timeline.reads + 1)  # not replace(): 3x slower
    upcoming = timeline.next_step()
    if (
        upcoming is not None
        and upcoming[1].after_reads is not None
        and timeline.reads >= upcoming[1].after_reads
    ):
        index, step = upcoming
        timeline = _enter(timeline, Entry(step.state, now, index, "reads", dict(step.set)))
    return timeline


def force_next(timeline: Timeline, now: float) -> Timeline:
    """Begin the next scenario step now, whatever it waits for (unchanged if there is none)."""
    timeline = advance(timeline, now)
    upcoming = timeline.next_step()
    if upcoming is None:
        return timeline
    index, step = upcoming
    return _enter(timeline, Entry(step.state, now, index, "forced", dict(step.set)))


def cancel(timeline: Timeline, now: float, lifecycle: Lifecycle) -> Timeline:
    """Apply a cancel at ``now``: leave the script for the cancel state unless already terminal.

    Cancel state fields with a single allowed value (Letta's stop_reason ``cancelled``) are filled in.
    """
    if lifecycle.cancel is None:
        raise ValueError(f"the {lifecycle.resource} lifecycle has no cancel")
    timeline = advance(timeline, now)
    if lifecycle.states[timeline.state].terminal or timeline.state not in lifecycle.cancel.from_states:
        return timeline
    target = lifecycle.states[lifecycle.cancel.to]
    values = {name: next(iter(allowed)) for name, allowed in target.allowed.items() if len(allowed) == 1}
    return _enter(timeline, Entry(target.name, now, None, "cancel", values))


def react(timeline: Timeline, steps: tuple[Step, ...], now: float) -> Timeline:
    """A recorded reaction to a client's action at ``now`` (``lifecycle.reactions``): the resource
    leaves its script for ``steps``, entering the first now and each later one ``after`` the one
    before, as time goes on. The steps are appended to the scenario the timeline walks, so every
    entry still indexes ``timeline.scenario.steps``. No steps: nothing changes."""
    timeline = advance(timeline, now)
    if not steps:
        return timeline
    walked = timeline.scenario.steps
    index = timeline.current.step
    kept = walked[: index + 1] if index is not None else walked
    scenario = replace(timeline.scenario, steps=(*kept, *steps))
    first = steps[0]
    moved = Timeline(scenario, timeline.history, timeline.reads)
    return _enter(moved, Entry(first.state, now, len(kept), "reaction", dict(first.set)))


def react_to(timeline: Timeline, action: str, now: float) -> Timeline:
    """A client's ``action`` (cancel, delete) at ``now`` as the recorded server reacted to it in
    the state the resource is in (``Scenario.reactions``); unchanged when none was recorded there or
    the recorded reaction is the spec's own effect (the caller applies that)."""
    timeline = advance(timeline, now)
    reaction = reaction_for(timeline.scenario.reactions, action, timeline.state)
    if reaction is None or reaction.steps is None:
        return timeline
    return react(timeline, reaction.steps, now)


def _enter(timeline: Timeline, entry: Entry) -> Timeline:
    return Timeline(timeline.scenario, (*timeline.history, entry), reads=0)

"""A resource's timeline from what a shared store keeps: its scenario, when it was created, and the
commands applied to it since (with their times). Pure: the same inputs give the same timeline on
every instance, so instances share the few facts and each computes the rest.

Commands, in the order the store received them::

    {"kind": "cancel", "at": T}           a cancel (DELETE that cancels first, or the cancel route)
    {"kind": "force", "at": T}            the admin "next" command
    {"kind": "reads", "at": T, "entry": K}  the after_reads step that follows history entry K began,
                                          because the N-th read of entry K was counted at T
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario
from lifecycle.timeline import Timeline, advance, cancel, count_read, force_next, start

Command = Mapping[str, Any]


def replay(
    scenario: Scenario,
    created_at: float,
    commands: Iterable[Command],
    lifecycle: Lifecycle,
    now: float,
    *,
    reads: int = 0,
) -> Timeline:
    """The timeline at ``now``; ``reads`` counts the reads of its current entry (not yet a step)."""
    timeline = start(scenario, created_at)
    for command in commands:
        at = float(command["at"])
        kind = command["kind"]
        if kind == "cancel" and lifecycle.cancel is not None:
            timeline = cancel(timeline, at, lifecycle)
        elif kind == "force":
            timeline = force_next(timeline, at)
        elif kind == "reads":
            timeline = _reads_step(timeline, at, int(command.get("entry", -1)))
    timeline = advance(timeline, now)
    return Timeline(timeline.scenario, timeline.history, reads) if reads else timeline


def reads_step_due(timeline: Timeline, reads: int) -> bool:
    """True when ``reads`` reads of the current entry begin its next step (an after_reads step)."""
    upcoming = timeline.next_step()
    return upcoming is not None and upcoming[1].after_reads is not None and reads >= upcoming[1].after_reads


def _reads_step(timeline: Timeline, at: float, entry: int) -> Timeline:
    """Begin the after_reads step that follows entry ``entry`` at ``at`` (once: a repeated or stale
    command, or one for an entry a cancel has replaced, changes nothing)."""
    timeline = advance(timeline, at)
    upcoming = timeline.next_step()
    if entry != len(timeline.history) - 1 or upcoming is None or upcoming[1].after_reads is None:
        return timeline
    # the last counted read, as count_read records it: the step begins right after it
    primed = Timeline(timeline.scenario, timeline.history, upcoming[1].after_reads - 1)
    return count_read(primed, at)

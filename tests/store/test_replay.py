"""A timeline replayed from stored commands equals the timeline walked in one process."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest

from lifecycle.scenario import Scenario
from lifecycle.timeline import Timeline
from mockserver.state.replay import reads_step_due, replay
from tests.lifecycle.test_timeline import FOREVER, LIFECYCLE, MIXED, READS, TIMED, Event, play

PLANS = {"timed": TIMED, "reads": READS, "mixed": MIXED, "forever": FOREVER}


def stored(plan: Scenario, events: Sequence[Event], created_at: float = 100.0) -> Timeline:
    """What instances sharing a store compute: commands appended as the store would append them,
    reads counted per history entry (an INCR), the timeline replayed at the last moment."""
    commands: list[dict[str, Any]] = []
    counts: Counter[int] = Counter()
    now = created_at
    for kind, at in events:
        now = max(now, at)
        if kind == "read":
            timeline = replay(plan, created_at, commands, LIFECYCLE, at)
            entry = len(timeline.history) - 1
            counts[entry] += 1
            if reads_step_due(timeline, counts[entry]):
                commands.append({"kind": "reads", "at": at, "entry": entry})
        elif kind in ("cancel", "force"):
            commands.append({"kind": kind, "at": at})
    timeline = replay(plan, created_at, commands, LIFECYCLE, now)
    return replay(plan, created_at, commands, LIFECYCLE, now, reads=counts[len(timeline.history) - 1])


def same(left: Timeline, right: Timeline) -> None:
    assert [(e.state, e.at, e.cause, dict(e.values)) for e in left.history] == [
        (e.state, e.at, e.cause, dict(e.values)) for e in right.history
    ]
    assert left.reads == right.reads


def sequences() -> list[tuple[str, list[Event]]]:
    chosen = random.Random(7)
    cases = []
    for number in range(60):
        name = chosen.choice(sorted(PLANS))
        at, events = 100.0, []
        for _ in range(chosen.randint(0, 8)):
            at += chosen.choice([0.0, 0.25, 0.5, 1.0, 3.0])
            events.append((chosen.choice(["read", "read", "advance", "cancel", "force"]), at))
        cases.append((f"{number}-{name}", events))
    return cases


@pytest.mark.parametrize(("case", "events"), sequences(), ids=[case for case, _ in sequences()])
def test_replayed_equals_walked(case: str, events: list[Event]) -> None:
    plan = PLANS[case.split("-", 1)[1]]
    same(stored(plan, events), play(plan, events))


def test_a_stale_or_repeated_reads_command_changes_nothing() -> None:
    commands = [{"kind": "reads", "at": 100.5, "entry": 0}, {"kind": "reads", "at": 100.7, "entry": 0}]
    timeline = replay(READS, 100.0, commands, LIFECYCLE, 101.0)
    assert [(e.state, e.at) for e in timeline.history] == [("queued", 100.0), ("running", 100.5)]

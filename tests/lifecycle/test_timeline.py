"""Timeline evaluation as tables: (scenario, events) -> state, with exact entry times."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lifecycle import load_spec
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, Step
from lifecycle.timeline import Timeline, advance, cancel, count_read, force_next, start
from tests.conftest import TEST_SPECS

LIFECYCLE: Lifecycle = load_spec(
    (TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "minimal.yaml"
).lifecycle


def scenario(*steps: Step) -> Scenario:
    return Scenario(name="t", api="minimal", description="t", steps=steps)


TIMED = scenario(Step("queued"), Step("running", after=1.0), Step("done", after=2.0, set={"result": "42"}))
READS = scenario(
    Step("queued"), Step("running", after_reads=2), Step("done", after_reads=1, set={"result": "x"})
)
MIXED = scenario(Step("queued"), Step("running", after_reads=1), Step("done", after=5.0, set={"result": "y"}))
FOREVER = scenario(Step("queued"), Step("running", after=1.0))

Event = tuple[str, float]  # ("advance" | "read" | "cancel" | "force", at)


def play(plan: Scenario, events: Sequence[Event], created_at: float = 100.0) -> Timeline:
    timeline = start(plan, created_at)
    for kind, at in events:
        if kind == "advance":
            timeline = advance(timeline, at)
        elif kind == "read":
            timeline = count_read(advance(timeline, at), at)
        elif kind == "cancel":
            timeline = cancel(timeline, at, LIFECYCLE)
        else:
            timeline = force_next(timeline, at)
    return timeline


@pytest.mark.parametrize(
    ("plan", "events", "state", "entered"),
    [
        (TIMED, [], "queued", [100.0]),
        (TIMED, [("advance", 100.999)], "queued", [100.0]),
        (TIMED, [("advance", 101.0)], "running", [100.0, 101.0]),
        # looking late does not shift the schedule: each step begins exactly when it was due
        (TIMED, [("advance", 500.0)], "done", [100.0, 101.0, 103.0]),
        (TIMED, [("advance", 102.0), ("advance", 101.5)], "running", [100.0, 101.0]),  # time never runs back
        (READS, [("read", 100.0)], "queued", [100.0]),
        (
            READS,
            [("read", 100.0), ("read", 100.5)],
            "running",
            [100.0, 100.5],
        ),  # begins right after the 2nd read
        (READS, [("read", 100.0), ("read", 100.5), ("read", 101.0)], "done", [100.0, 100.5, 101.0]),
        (READS, [("advance", 999.0)], "queued", [100.0]),  # read-driven steps never begin by time alone
        (MIXED, [("read", 103.0), ("advance", 107.9)], "running", [100.0, 103.0]),
        (MIXED, [("read", 103.0), ("advance", 108.0)], "done", [100.0, 103.0, 108.0]),  # timed from the read
        (FOREVER, [("advance", 10_000.0)], "running", [100.0, 101.0]),
        (TIMED, [("cancel", 100.5)], "cancelled", [100.0, 100.5]),
        (
            TIMED,
            [("cancel", 100.5), ("advance", 500.0)],
            "cancelled",
            [100.0, 100.5],
        ),  # off the script for good
        (TIMED, [("cancel", 104.0)], "done", [100.0, 101.0, 103.0]),  # cancel after terminal is a no-op
        (TIMED, [("force", 100.2)], "running", [100.0, 100.2]),
        (
            TIMED,
            [("force", 100.2), ("advance", 102.1)],
            "running",
            [100.0, 100.2],
        ),  # next due 2 s after the force
        (TIMED, [("force", 100.2), ("advance", 102.2)], "done", [100.0, 100.2, 102.2]),
        (
            TIMED,
            [("advance", 200.0), ("force", 201.0)],
            "done",
            [100.0, 101.0, 103.0],
        ),  # nothing after terminal
    ],
)
def test_timeline(plan: Scenario, events: Sequence[Event], state: str, entered: list[float]) -> None:
    timeline = play(plan, events)
    assert timeline.state == state
    assert [entry.at for entry in timeline.history] == entered


def test_entries_record_their_cause_and_values() -> None:
    timeline = play(READS, [("read", 100.0), ("read", 100.5), ("read", 101.0)])
    assert [(e.state, e.cause) for e in timeline.history] == [
        ("queued", "created"),
        ("running", "reads"),
        ("done", "reads"),
    ]
    assert timeline.values == {"result": "x"}


def test_reads_count_per_step() -> None:
    timeline = play(READS, [("read", 100.0)])
    assert timeline.reads == 1
    assert play(READS, [("read", 100.0), ("read", 100.5)]).reads == 0  # the new step starts its own count


def test_next_change_at() -> None:
    assert start(TIMED, 100.0).next_change_at() == 101.0
    assert start(READS, 100.0).next_change_at() is None
    assert play(TIMED, [("advance", 500.0)]).next_change_at() is None
    assert play(TIMED, [("cancel", 100.1)]).next_change_at() is None


def test_cancel_fills_single_valued_fields_of_the_cancel_state() -> None:
    timeline = play(TIMED, [("cancel", 100.5)])
    assert timeline.current.cause == "cancel"
    assert timeline.current.step is None
    assert timeline.values == {}  # the minimal lifecycle's cancelled state has no allowed values to fill

"""``lifecycle.streaming`` as tables: when a reply's tokens are due, projected from the timeline."""

from __future__ import annotations

import pytest

from lifecycle import load_spec
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, Step
from lifecycle.streaming import Pace, Phase, ended_badly, schedule, token_times, working_phase
from lifecycle.timeline import Timeline, advance, cancel, start
from tests.conftest import TEST_SPECS

LIFECYCLE: Lifecycle = load_spec(
    (TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "minimal.yaml"
).lifecycle
# queued at 100, running at 101, done at 105
DONE = Scenario(
    "t",
    "minimal",
    "t",
    (Step("queued"), Step("running", after=1.0), Step("done", after=4.0, set={"result": "r"})),
)
FOREVER = Scenario("t", "minimal", "t", (Step("queued"), Step("running", after=1.0)))


def at(plan: Scenario, now: float, *, cancelled_at: float | None = None) -> Timeline:
    timeline = start(plan, 100.0)
    if cancelled_at is not None:
        timeline = cancel(advance(timeline, cancelled_at), cancelled_at, LIFECYCLE)
    return advance(timeline, now)


@pytest.mark.parametrize(
    ("phase", "count", "pace", "times"),
    [
        (Phase(0.0, 4.0), 3, Pace(), [1.0, 2.0, 3.0]),  # spread over the phase
        (Phase(0.0, None), 3, Pace(), [0.1, 0.2, 0.3]),  # open-ended: the default rate
        (Phase(0.0, 4.0), 2, Pace(rate=2.0), [0.5, 1.0]),  # a rate wins over the phase
        (Phase(0.0, 3.0), 2, Pace(stretch=2.0), [2.0, 4.0]),  # stretched past the end: cut off later
        (Phase(5.0, 5.0), 1, Pace(), [5.1]),  # an empty phase: the default rate
    ],
)
def test_token_times(phase: Phase, count: int, pace: Pace, times: list[float]) -> None:
    assert token_times(phase, count, pace) == pytest.approx(times)


def test_jitter_moves_tokens_but_never_before_the_one_before() -> None:
    times = token_times(Phase(0.0, 10.0), 50, Pace(jitter=1.0, key="k"))
    assert times == sorted(times)
    assert times != token_times(Phase(0.0, 10.0), 50, Pace())
    assert times == token_times(Phase(0.0, 10.0), 50, Pace(jitter=1.0, key="k"))  # seeded by the key


@pytest.mark.parametrize(
    ("plan", "now", "cancelled_at", "phase", "badly"),
    [
        (DONE, 100.5, None, None, False),  # still queued: nothing flows yet
        (DONE, 102.0, None, Phase(101.0, 105.0), False),  # the end is scheduled
        (DONE, 200.0, None, Phase(101.0, 105.0), False),
        (FOREVER, 150.0, None, Phase(101.0, None), False),  # never ends
        (DONE, 200.0, 103.0, Phase(101.0, 103.0), True),  # cancelled: ends where it was
    ],
)
def test_working_phase_and_how_it_ended(
    plan: Scenario, now: float, cancelled_at: float | None, phase: Phase | None, badly: bool
) -> None:
    timeline = at(plan, now, cancelled_at=cancelled_at)
    assert working_phase(timeline, LIFECYCLE) == phase
    assert ended_badly(timeline, LIFECYCLE) is badly


@pytest.mark.parametrize(
    ("plan", "now", "cancelled_at", "due", "next_at"),
    [
        (DONE, 100.5, None, 0, None),  # queued: no phase, nothing due
        (DONE, 102.0, None, 1, 103.0),  # 3 tokens over 101..105: at 102, 103, 104
        (DONE, 103.5, None, 2, 104.0),
        (DONE, 200.0, None, 3, None),  # ended well: every token
        (DONE, 200.0, 102.5, 3, None),  # cancelled: the phase ended at 102.5, the tokens spread within it
        (FOREVER, 101.25, None, 2, 101.3),  # open-ended: 10 per second
    ],
)
def test_schedule(
    plan: Scenario, now: float, cancelled_at: float | None, due: int, next_at: float | None
) -> None:
    planned = schedule(at(plan, now, cancelled_at=cancelled_at), LIFECYCLE, count=3)
    assert planned.due(now) == due
    if next_at is None:
        assert planned.next_at(due) is None
    else:
        assert planned.next_at(due) == pytest.approx(next_at)


def test_a_stream_cut_short_gets_no_more_than_was_due_when_it_ended() -> None:
    planned = schedule(at(DONE, 200.0), LIFECYCLE, count=3, cut_short=True)
    assert not planned.complete
    assert planned.due(10_000.0) == 3  # all were due by the end at 105 anyway


def test_a_paced_reply_that_ends_badly_stops_where_it_was() -> None:
    cancelled = at(FOREVER, 200.0, cancelled_at=102.5)
    planned = schedule(cancelled, LIFECYCLE, count=3, pace=Pace(rate=1.0))  # due at 102, 103, 104
    assert (planned.due(200.0), planned.next_at(1)) == (1, None)

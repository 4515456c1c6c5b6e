"""The recorded parts of a scenario as tables: checked at load with located findings, the timeline's
``react`` move, timestamp formats, timing, and what a session's recordings say about the server."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.errors import SourceError
from lifecycle.faults import Latency
from lifecycle.formats import TimestampFormat, detect
from lifecycle.reactions import mark_id, reaction_for, substitute_id
from lifecycle.scenario import scenario_from_data
from lifecycle.streaming import Pace, Phase, token_times
from lifecycle.timeline import advance, react, start
from lifecycle.timing import Stall, StreamTiming, distribution, token_offsets
from mockserver.state.base import Command, replay
from mockserver.state.replay import replay as shared_replay
from recorder.behaviour import behaviour
from recorder.recording import Recording
from recorder.secrets import Secrets
from tests.recorder.conftest import spec_of

LETTA = spec_of("letta")
BASE: dict[str, Any] = {
    "api": "letta",
    "description": "recorded",
    "steps": [
        {"state": "created"},
        {"state": "completed", "after": "10s", "set": {"stop_reason": "end_turn"}},
    ],
}
CANCEL: dict[str, Any] = {
    "action": "cancel",
    "from": ["created"],
    "answer": {"status": 200, "body": {"${id}": "cancelled"}},
    "steps": [
        {"state": "cancelled", "set": {"stop_reason": "cancelled"}},
        {
            "state": "completed",
            "after": "2.5s",
            "set": {"stop_reason": "end_turn"},
            "off_contract": [{"kind": "transition", "message": "flip"}],
        },
    ],
}


def load(**parts: Any) -> Any:
    return scenario_from_data({**BASE, **parts}, "recorded.yaml", LETTA.lifecycle, name="recorded")


def problems(**parts: Any) -> list[str]:
    with pytest.raises(SourceError) as caught:
        load(**parts)
    return [str(finding) for finding in caught.value.findings]


def test_a_reaction_walks_from_the_action_and_the_rest_follows_its_afters() -> None:
    scenario = load(reactions=[CANCEL])
    reaction = reaction_for(scenario.reactions, "cancel", "created")
    assert reaction is not None
    assert reaction_for(scenario.reactions, "cancel", "completed") is None  # not recorded there
    assert reaction.answer.body_for("run-1") == {"run-1": "cancelled"}
    assert reaction.steps is not None
    timeline = react(start(scenario, now=0.0), reaction.steps, now=1.0)
    assert (timeline.state, timeline.values) == ("cancelled", {"stop_reason": "cancelled"})
    assert advance(timeline, 3.49).state == "cancelled"
    later = advance(timeline, 3.5)
    assert (later.state, later.current.at, later.current.cause) == ("completed", 3.5, "time")
    assert advance(start(scenario, now=0.0), 20.0).state == "completed"  # untouched: the script
    assert react(start(scenario, now=0.0), (), now=1.0).state == "created"  # no steps: nothing changes


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (
            {"reactions": [{**CANCEL, "from": ["creatd"]}]},
            "/reactions/0/from/0: unknown state; found 'creatd'",
        ),
        (
            {"reactions": [{**CANCEL, "steps": [CANCEL["steps"][0], {"state": "created", "after": "1s"}]}]},
            "/reactions/0/steps/1: no step may follow the terminal state 'cancelled'",
        ),
        (
            {"reactions": [{**CANCEL, "steps": [{"state": "cancelled", "after": "1s"}]}]},
            "/reactions/0/steps/0: the first step begins at the action and takes no after/after_reads",
        ),
        ({"formats": {"completd_at": {"offset": "none"}}}, "did you mean 'completed_at'?"),
        ({"reactions": [{"action": "cancel"}]}, "/reactions/0: missing required key; expected 'answer'"),
        ({"answers": {"x": {"status": 700}}}, "/answers/x/status"),
    ],
)
def test_recorded_parts_are_checked_with_located_findings(parts: dict[str, Any], expected: str) -> None:
    found = problems(**parts)
    assert any(expected in line for line in found), found


def test_a_recorded_flip_the_lifecycle_forbids_loads_when_marked_off_contract() -> None:
    unmarked = {**CANCEL, "steps": [CANCEL["steps"][0], {**CANCEL["steps"][1], "off_contract": []}]}
    del unmarked["steps"][1]["off_contract"]
    assert any(
        "no step may follow the terminal state 'cancelled'" in line for line in problems(reactions=[unmarked])
    )
    assert load(reactions=[CANCEL]).reactions[0].from_states == frozenset({"created"})


@pytest.mark.parametrize(
    ("text", "found", "written"),
    [
        ("2025-11-21T02:03:21.306721", TimestampFormat("none", 6), "2025-11-21T02:03:21.306721"),
        (
            "2025-11-21T02:03:21.306721+00:00",
            TimestampFormat("+00:00", 6),
            "2025-11-21T02:03:21.306721+00:00",
        ),
        ("2025-11-21T02:03:21.306Z", TimestampFormat("Z", 3), "2025-11-21T02:03:21.306Z"),
        ("2025-11-21T02:03:21Z", TimestampFormat("Z", 0), "2025-11-21T02:03:21Z"),
    ],
)
def test_a_timestamp_format_is_detected_and_written_back(
    text: str, found: TimestampFormat, written: str
) -> None:
    assert detect(text) == found
    assert found.write("2025-11-21T02:03:21.306721Z") == written


def test_what_is_not_a_timestamp_keeps_its_text() -> None:
    assert detect("yesterday") is None
    assert detect(None) is None
    assert TimestampFormat("none").write("not a time") == "not a time"


def test_ids_in_recorded_bodies_round_trip() -> None:
    body = {"run-9": "cancelled", "detail": "Run run-9 not found", "n": 3}
    marked = mark_id(body, "run-9")
    assert marked == {"${id}": "cancelled", "detail": "Run ${id} not found", "n": 3}
    assert substitute_id(marked, "run-1") == {"run-1": "cancelled", "detail": "Run run-1 not found", "n": 3}


@pytest.mark.parametrize(
    ("samples", "written"),
    [
        ([0.02], 0.02),
        ([0.02, 0.03, 0.025], {"uniform": [0.02, 0.03]}),
        ([0.01, 0.01, 0.01, 0.01, 0.01, 0.5], {"long_tail": {"median": 0.01, "p99": 0.5}}),
    ],
)
def test_measured_durations_become_a_latency(samples: list[float], written: Any) -> None:
    assert distribution(samples) == written


def test_a_recorded_stream_paces_its_tokens_first_gaps_and_stall() -> None:
    timing = StreamTiming(first=0.5, gap=Latency("fixed", 0.1, 0.1), stall=Stall(after=2, seconds=3.0))
    assert token_offsets(timing, 4, lambda index: 0.0) == pytest.approx([0.5, 0.6, 3.7, 3.8])
    times = token_times(Phase(10.0, 20.0), 4, Pace(key="k", timing=timing))
    assert times == pytest.approx([10.5, 10.6, 13.7, 13.8])


def test_a_session_says_what_the_server_did_for_every_file() -> None:
    lifecycle = LETTA.lifecycle
    cancelled = Recording("letta", "run-a", lifecycle, created=(0.0, 0.05))
    answered = cancelled.answer(0.2, "cancelAgentRun", 200, {"run-a": "cancelled"})
    cancelled.act("cancel", 0.15, answered)
    cancelled.observe(0.3, 0.35, {"status": "cancelled", "stop_reason": "cancelled"})
    cancelled.observe(2.55, 2.6, {"status": "cancelled", "stop_reason": "cancelled"})
    cancelled.observe(2.8, 2.85, {"status": "completed", "stop_reason": "end_turn"})
    deleted = Recording("letta", "run-b", lifecycle, created=(0.0, 0.05))
    failed = deleted.answer(0.2, "deleteRun", 500, {"detail": "An unknown error occurred"})
    deleted.act("delete", 0.15, failed)
    failed.dropped = True
    deleted.answer(0.4, "retrieveStreamForRun", 503, {"detail": "Redis"})
    deleted.timestamp("completed_at", "2025-11-21T02:03:21.306721")
    found = behaviour([cancelled, deleted], {"retrieveRun": [0.02, 0.03]}, Secrets(LETTA.data))
    parts = found.parts
    assert parts["answers"] == {"retrieveStreamForRun": {"status": 503, "body": {"detail": "Redis"}}}
    cancel, delete = parts["reactions"]
    assert cancel["answer"] == {"status": 200, "body": {"${id}": "cancelled"}}
    assert [step["state"] for step in cancel["steps"]] == ["cancelled", "completed"]
    # between the last read showing cancelled and the first showing completed (2.725), counted
    # from the cancel's answer (0.2), not from the first read after it
    assert cancel["steps"][1]["after"] == "2.525s"
    assert delete == {
        "action": "delete",
        "from": ["created"],
        "answer": {"status": 500, "body": {"detail": "An unknown error occurred"}, "connection": "drop"},
        "resource": "kept",
        "steps": [],
    }
    assert parts["formats"] == {"completed_at": {"offset": "none", "digits": 6}}
    assert parts["timing"] == {"latency": {"retrieveRun": {"uniform": ["0.02s", "0.03s"]}}}
    # the spec's own names for what was seen: linked, not repeated
    assert found.deviations == {"cancel-not-sticky", "delete-run-500", "naive-completed-at"}
    assert found.answered == {"retrieveStreamForRun", "cancelAgentRun", "deleteRun"}  # not faults as well


def test_a_shared_store_replays_a_recorded_reaction_from_its_command() -> None:
    """Another process rebuilds the timeline from the commands: the reaction is found again from
    the scenario, the action and the state at its time."""
    scenario = load(reactions=[CANCEL])
    commands = [Command("react-cancel", 1.0)]
    assert replay(scenario, 0.0, commands, LETTA.lifecycle, now=2.0).state == "cancelled"
    assert replay(scenario, 0.0, commands, LETTA.lifecycle, now=3.5).state == "completed"
    late = [Command("react-cancel", 11.0)]  # completed by then: nothing was recorded for that state
    assert replay(scenario, 0.0, late, LETTA.lifecycle, now=20.0).history[-1].cause == "time"


def test_the_redis_store_replays_a_recorded_reaction_from_its_command() -> None:
    scenario = load(reactions=[CANCEL])
    commands = [{"kind": "react-cancel", "at": 1.0}]
    assert shared_replay(scenario, 0.0, commands, LETTA.lifecycle, now=2.0).state == "cancelled"
    assert shared_replay(scenario, 0.0, commands, LETTA.lifecycle, now=3.5).state == "completed"

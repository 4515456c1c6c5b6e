"""Scenario steps may carry ``off_contract`` notes (written by the recorder): each waives the
matching check for its step only, and the loaded step keeps them."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import SourceError, load_spec
from lifecycle.model import Lifecycle
from lifecycle.scenario import scenario_from_data
from tests.conftest import SPECS, TEST_SPECS


@pytest.fixture(scope="module")
def lifecycle() -> Lifecycle:
    return load_spec((TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "minimal.yaml").lifecycle


def check(lifecycle: Lifecycle, steps: list[Any]) -> Any:
    data = {"api": "minimal", "description": "recorded", "steps": steps}
    return scenario_from_data(data, "recorded.yaml", lifecycle, name="recorded")


Step = dict[str, Any]
DONE: Step = {"state": "done", "after": 1, "set": {"result": "42"}}
BACK: Step = {"state": "running", "after": 1}
NOTE: Step = {"kind": "transition", "message": "the terminal state 'done' changed to 'running'"}


def test_a_marked_transition_loads_and_keeps_its_note(lifecycle: Lifecycle) -> None:
    steps = [{"state": "queued"}, {"state": "running", "after": 1}, DONE, {**BACK, "off_contract": [NOTE]}]
    scenario = check(lifecycle, steps)
    assert scenario.steps[3].off_contract == (NOTE,)
    with pytest.raises(SourceError, match="no step may follow the terminal state 'done'"):
        check(lifecycle, [*steps[:3], BACK])


def test_a_marked_step_still_says_when_it_begins(lifecycle: Lifecycle) -> None:
    steps = [{"state": "queued"}, {"state": "done", "set": {"result": "1"}, "off_contract": [NOTE]}]
    with pytest.raises(SourceError, match="a later step must say when it begins"):
        check(lifecycle, steps)


def test_a_missing_field_is_waived_only_for_the_field_named(lifecycle: Lifecycle) -> None:
    missing = {"kind": "missing", "field": "result", "message": "state 'done' requires 'result'"}
    steps: list[Step] = [{"state": "queued"}, {"state": "running", "after": 1}, {"state": "done", "after": 1}]
    with pytest.raises(SourceError, match="requires field 'result'"):
        check(lifecycle, steps)
    steps[2]["off_contract"] = [missing]
    assert check(lifecycle, steps).steps[2].off_contract == (missing,)
    steps[2]["off_contract"] = [{**missing, "kind": "value"}]  # another kind waives nothing here
    with pytest.raises(SourceError, match="requires field 'result'"):
        check(lifecycle, steps)


def test_a_state_note_only_informs(lifecycle: Lifecycle) -> None:
    note = {"kind": "state", "message": "status='paused' is no state of the lifecycle"}
    steps: list[Step] = [{"state": "queued", "off_contract": [note]}, {"state": "cancelled", "after": 1}]
    assert check(lifecycle, steps).steps[0].off_contract == (note,)
    steps[1] = {"state": "done", "after": 1, "set": {"result": "1"}}
    with pytest.raises(SourceError, match="transition queued -> done is not allowed"):
        check(lifecycle, steps)


def test_a_value_outside_the_allowed_ones_is_waived_for_its_field() -> None:
    letta = load_spec(
        (SPECS / "letta.yaml").read_text(encoding="utf-8"), "letta.yaml", validate_openapi=False
    )
    note = {"kind": "value", "field": "stop_reason", "message": "stop_reason='because' is not allowed"}
    completed: dict[str, Any] = {"state": "completed", "after": 1, "set": {"stop_reason": "because"}}
    data = {"api": "letta", "description": "recorded", "steps": [{"state": "created"}, completed]}
    with pytest.raises(SourceError, match="value not allowed for 'stop_reason'"):
        scenario_from_data(data, "recorded.yaml", letta.lifecycle, name="recorded")
    completed["off_contract"] = [note]
    assert scenario_from_data(data, "recorded.yaml", letta.lifecycle, name="recorded").steps[1].set == {
        "stop_reason": "because"
    }

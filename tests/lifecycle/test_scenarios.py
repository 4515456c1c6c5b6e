"""Scenario files: valid ones load into frozen steps; invalid ones fail with the exact expected text."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from lifecycle import SourceError, load_spec
from lifecycle.durations import parse_duration
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, load_scenario, scenario_from_data
from tests.conftest import SPECS, TEST_SPECS

HERE = Path(__file__).resolve().parent.parent / "scenarios"  # the files tests/lifecycle shares with lint
INVALID = sorted((HERE / "invalid").glob("*.yaml"))


@pytest.fixture(scope="module")
def lifecycle() -> Lifecycle:
    return load_spec((TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "minimal.yaml").lifecycle


def load(path: Path, lifecycle: Lifecycle) -> Scenario:
    name = path.relative_to(HERE).as_posix()
    return load_scenario(path.read_text(encoding="utf-8"), name, lifecycle, api="minimal")


def test_valid_scenario_loads(lifecycle: Lifecycle) -> None:
    scenario = load(HERE / "valid.yaml", lifecycle)
    assert scenario.name == "valid"
    assert [(s.state, s.after, s.after_reads) for s in scenario.steps] == [
        ("queued", None, None),
        ("running", 1.0, None),
        ("done", None, 2),
    ]
    assert scenario.steps[2].set == {"result": "42"}
    assert scenario.matches({"messages": [{"content": "please #VALID this"}]})
    assert not scenario.matches({"messages": [{"content": "nothing here"}]})


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_scenario_fails_with_the_expected_text(path: Path, lifecycle: Lifecycle) -> None:
    with pytest.raises(SourceError) as caught:
        load(path, lifecycle)
    assert str(caught.value) + "\n" == path.with_suffix(".expected").read_text(encoding="utf-8")


def test_every_invalid_scenario_has_its_expected_text() -> None:
    assert {p.stem for p in (HERE / "invalid").glob("*.expected")} == {p.stem for p in INVALID}


def test_inline_scenario_is_checked_like_a_file(lifecycle: Lifecycle) -> None:
    data = {
        "api": "minimal",
        "description": "x",
        "steps": [{"state": "queued"}, {"state": "don", "after": 1}],
    }
    with pytest.raises(SourceError) as caught:
        scenario_from_data(data, "<inline>", lifecycle, name="inline")
    assert str(caught.value) == (
        "<inline>: /steps/1/state: unknown state; found 'don'; "
        "expected one of 'cancelled', 'done', 'queued', 'running'; did you mean 'done'?"
    )


@pytest.mark.parametrize(
    ("text", "seconds"), [(0, 0.0), (2.5, 2.5), ("250ms", 0.25), ("1.5s", 1.5), ("2m", 120.0)]
)
def test_parse_duration(text: float | str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_parse_duration_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_a_stream_end_must_be_one_of_the_apis_signals() -> None:
    chatzy = load_spec((SPECS / "chatzy.yaml").read_text(encoding="utf-8"), "chatzy.yaml").lifecycle
    steps: list[dict[str, Any]] = [
        {"state": "queued"},
        {"state": "completed", "after": 1, "stream": {"end": "[DONE ]"}},
    ]
    with pytest.raises(SourceError) as caught:
        scenario_from_data(
            {"api": "chatzy", "description": "x", "steps": steps}, "<inline>", chatzy, name="inline"
        )
    message = str(caught.value)
    assert message.startswith(
        "<inline>: /steps/1/stream/end: not a terminal signal of this API's stream; found '[DONE ]'"
    )
    assert message.endswith("did you mean '[DONE]'?")
    steps[1]["stream"] = {"end": "__ERROR__: the model is down"}  # an error signal is matched by its prefix
    assert scenario_from_data(
        {"api": "chatzy", "description": "x", "steps": steps}, "<inline>", chatzy, name="ok"
    )


@functools.cache
def _bundled(api: str) -> Lifecycle:
    return load_spec((SPECS / f"{api}.yaml").read_text(encoding="utf-8"), f"{api}.yaml").lifecycle


@pytest.mark.parametrize(
    ("api", "written", "meant"),
    [
        ("invent", ["RUNNING", "FAILED"], ["running", "failed"]),
        ("invent", ["running", "COMPLETED"], ["running", "completed"]),  # both spellings mix
        ("chatzy", ["is_streaming/null", "is_streaming/processing", "completed/completed"], None),
    ],
)
def test_a_state_may_be_named_as_the_api_shows_it(
    api: str, written: list[str], meant: list[str] | None
) -> None:
    steps: list[dict[str, Any]] = [{"state": written[0]}]
    steps += [{"state": state, "after": "1s"} for state in written[1:]]
    if api == "invent" and written[-1] == "FAILED":
        steps[-1]["set"] = {"error": "The model is overloaded"}
    data = {"api": api, "description": "Named as the API shows it.", "steps": steps}
    scenario = scenario_from_data(data, "inline", _bundled(api), name="shown")
    assert [step.state for step in scenario.steps] == (meant or ["queued", "processing", "completed"])


@pytest.mark.parametrize(
    ("api", "written", "suggestion"),
    [
        ("invent", "RUNING", "'RUNNING'"),
        ("invent", "Completed", "'completed'"),  # case does not count
        ("invent", "runing", "'running'"),
        ("chatzy", "is_streaming/procesing", "'is_streaming/processing'"),
    ],
)
def test_an_unknown_state_suggests_a_name_or_a_shown_value(api: str, written: str, suggestion: str) -> None:
    data = {"api": api, "description": "A typo.", "steps": [{"state": written}]}
    with pytest.raises(SourceError) as raised:
        scenario_from_data(data, "inline", _bundled(api), name="typo")
    message = str(raised.value)
    assert f"unknown state; found {written!r}" in message
    assert f"did you mean {suggestion}?" in message
    assert "or as the API shows them:" in message

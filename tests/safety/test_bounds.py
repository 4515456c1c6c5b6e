"""Findings 1, 2 and 6 (round 2) in the pure core: YAML bounded whatever the text, every number in
a scenario finite and in range, fault durations capped; and the dashboard's JSON never carries
the bare words NaN or Infinity."""

from __future__ import annotations

import json
import math
import time

import pytest
from starlette.testclient import TestClient

from comeback.testing import bundled_catalog
from lifecycle.errors import SourceError
from lifecycle.faults import MAX_FAULT_SECONDS, FaultError, parse_fault, parse_header
from lifecycle.scenario import load_scenario, scenario_from_data
from lifecycle.source import MAX_ALIAS_NODES, MAX_CHARS, load_document
from mockserver.responses import json_text
from mockserver.ui.routes import frame
from tests.mockserver.conftest import AUTH
from tests.safety.conftest import app
from tests.safety.test_hostile_uploads import bomb

STEPS = "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: running\n"


def _refusal(text: str, name: str = "s.yaml") -> str:
    with pytest.raises(SourceError) as caught:
        load_scenario(text, name, bundled_catalog()["letta"].spec.lifecycle)
    return str(caught.value)


@pytest.mark.parametrize("levels", [6, 7, 9, 20])
def test_a_billion_laughs_is_refused_at_once_with_a_located_message(levels: int) -> None:
    began = time.monotonic()
    message = _refusal(bomb(levels))
    took = time.monotonic() - began
    assert f"> {MAX_ALIAS_NODES})" in message
    assert message.startswith("s.yaml:")
    assert "too many alias expansions" in message
    assert took < 2, f"{levels} levels refused after {took:.1f} s"  # linear in the text: milliseconds


def test_a_few_aliases_still_load_and_lines_never_expand_them() -> None:
    text = "a: &x {b: [1, 2], c: {d: 3}}\ne: *x\nf: *x\n"
    document = load_document(text, "t.yaml")
    assert document.data["f"] == {"b": [1, 2], "c": {"d": 3}}
    assert document.line_of("/a/c/d") == 1
    assert document.line_of("/f/c/d") == 3  # inside an alias: the alias's own line, not expanded
    assert "/f/c/d" not in document.lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("&a [*a]", "an alias refers to a node that contains it"),
        ("a: &d {b: *d}", "an alias refers to a node that contains it"),
        ("a: 1" + "0" * 5000, "number too long"),
        ("a: .inf", "not a finite number"),
        ("a: [-.Inf]", "not a finite number"),
        ("a: .NaN", "not a finite number"),
        ("a: 1.0e+400", "not a finite number"),
        ("d: 2024-13-45", "not valid YAML"),
        ("a: 1\na: 2", "duplicate key"),
    ],
)
def test_yaml_the_rest_of_the_mock_cannot_hold_is_a_finding(text: str, message: str) -> None:
    with pytest.raises(SourceError) as caught:
        load_document(text, "t.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("t.yaml")


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(SourceError, match="the document is too large"):
        load_document("a: " + "x" * MAX_CHARS, "t.yaml")


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (".nan", "s.yaml:6: /steps/1/after: not a finite number"),
        (".inf", "s.yaml:6: /steps/1/after: not a finite number"),
        ("99999999m", "s.yaml:6: /steps/1/after: the steps take too long"),
        ("1" + "0" * 400, "s.yaml:6: /steps/1/after: unusable duration"),
        (
            "1s\n    stream: {tokens_per_second: 1.0e-300}",
            "/steps/1/stream/tokens_per_second: pace out of range",
        ),
        ("1s\n    stream: {jitter: .nan}", "/steps/1/stream/jitter: not a finite number"),
        ("1s\n    set: {stop_reason: .inf}", "/steps/1/set/stop_reason: not a finite number"),
        ("1s\n    fault: {latency: 61m}", "unusable fault: latency must be at most 1 hour (3600 s)"),
        ("1s\n    fault: {stall: 99999999m}", "unusable fault: stall must be at most 1 hour"),
        ("1s\n    fault: {status: 503, times: 99999999999}", "times must be a whole number from 1 to"),
    ],
)
def test_every_number_in_a_scenario_is_finite_and_in_range(after: str, message: str) -> None:
    assert message in _refusal(STEPS + f"    after: {after}\n")


def test_inline_data_is_checked_the_same() -> None:
    data = {
        "api": "letta",
        "description": "d",
        "steps": [{"state": "created"}, {"state": "running", "after": math.inf}],
    }
    with pytest.raises(SourceError, match="/steps/1/after: not a finite number"):
        scenario_from_data(data, "inline", bundled_catalog()["letta"].spec.lifecycle, name="x")


@pytest.mark.parametrize(
    "header",
    [
        "latency=99999999m",
        "latency=1ms..61m",
        "latency=tail:1s..2000m",
        "stall=3601s",
        "drip=61m",
        "retry_after=61m",
    ],
)
def test_fault_durations_are_capped_at_an_hour(header: str) -> None:
    with pytest.raises(FaultError, match=r"at most 1 hour \(3600 s\)"):
        parse_header(header)


def test_an_hour_is_still_a_fault() -> None:
    assert parse_header("latency=60m").delay(0, "k") == MAX_FAULT_SECONDS
    assert parse_fault({"stall": 3600}).stall == MAX_FAULT_SECONDS


def test_the_dashboard_feed_never_carries_bare_nan_or_infinity() -> None:
    text = json_text({"after": math.inf, "values": [math.nan, 1.5, -math.inf], "ok": "x"})
    assert json.loads(text) == {"after": None, "values": [None, 1.5, None], "ok": "x"}
    assert json_text({"a": 1}) == '{"a":1}'
    assert "Infinity" not in frame("resource", {"next_change_at": math.inf})


def test_a_190_year_fault_header_is_refused_saying_the_cap() -> None:
    with TestClient(app()) as client:
        answer = client.get("/v1/runs/", headers={**AUTH["letta"], "X-Mock-Fault": "latency=99999999m"})
    assert answer.status_code == 400, answer.text
    assert "at most 1 hour (3600 s)" in answer.text

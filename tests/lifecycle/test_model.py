"""The lifecycle model: transitions, deviations that widen them, and reading a state back from values."""

from __future__ import annotations

import pytest

from lifecycle.model import Lifecycle, build_lifecycle

BLOCK = {
    "resource": "run",
    "id": {"name": "run_id", "format": "prefixed-uuid4", "prefix": "run-"},
    "create": {"operation": "create", "id": "$response.body#/id"},
    "fields": {"status": "status", "stop_reason": "why it stopped"},
    "initial": "created",
    "states": {
        "created": {"show": {"status": "created"}},
        "completed": {
            "show": {"status": "completed"},
            "terminal": True,
            "allowed": {"stop_reason": ["end_turn"]},
        },
        "cancelled": {"show": {"status": "cancelled"}, "terminal": True},
    },
    "transitions": {"created": ["completed", "cancelled"]},
    "views": [{"operation": "create", "fields": {"status": "/status"}}],
    "deviations": [
        {
            "name": "cancel-not-sticky",
            "ambiguity": "L-A8",
            "note": "a cancelled run can later flip to completed",
            "tolerated": False,
            "effect": {"kind": "extra-transitions", "transitions": {"cancelled": ["completed"]}},
        }
    ],
    "decisions": [{"ambiguity": "L-A8", "decision": "Chose to flag the flip because it is a defect."}],
}


@pytest.fixture
def lifecycle() -> Lifecycle:
    return build_lifecycle(BLOCK)


@pytest.mark.parametrize(
    ("source", "target", "tolerate", "allowed"),
    [
        ("created", "completed", frozenset(), True),
        ("created", "created", frozenset(), True),
        ("completed", "created", frozenset(), False),
        ("cancelled", "completed", frozenset(), False),
        ("cancelled", "completed", frozenset({"cancel-not-sticky"}), True),
        ("cancelled", "completed", frozenset({"some-other-deviation"}), False),
        ("created", "nowhere", frozenset(), False),
    ],
)
def test_allows(
    lifecycle: Lifecycle, source: str, target: str, tolerate: frozenset[str], allowed: bool
) -> None:
    assert lifecycle.allows(source, target, tolerate) is allowed


@pytest.mark.parametrize(
    ("values", "state"),
    [
        ({"status": "created"}, "created"),
        ({"status": "completed", "stop_reason": "end_turn"}, "completed"),
        ({"status": "processing"}, None),
        ({}, None),
    ],
)
def test_state_showing(lifecycle: Lifecycle, values: dict[str, str], state: str | None) -> None:
    found = lifecycle.state_showing(values)
    assert (found.name if found else None) == state


def test_terminal_states_and_allowed_values(lifecycle: Lifecycle) -> None:
    assert lifecycle.terminal_states == {"completed", "cancelled"}
    assert lifecycle.states["completed"].allowed == {"stop_reason": frozenset({"end_turn"})}
    assert lifecycle.deviations[0].kind == "extra-transitions"

"""``lifecycle.derived`` as a table: the scenarios a spec without any gets from its lifecycle."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import load_spec
from lifecycle.derived import NEVER_FINISHES, STEP_SECONDS, derived_scenarios
from lifecycle.model import Lifecycle
from tests.conftest import TEST_SPECS

LIFECYCLE: Lifecycle = load_spec(
    (TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "minimal.yaml"
).lifecycle
DERIVED = {scenario.name: scenario for scenario in derived_scenarios(LIFECYCLE, "minimal")}


def test_the_default_comes_first_then_other_terminals_then_never_finishes() -> None:
    assert list(DERIVED) == ["done", "cancelled", NEVER_FINISHES]
    assert [s.default for s in DERIVED.values()] == [True, False, False]
    assert all(s.api == "minimal" for s in DERIVED.values())


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        # the shortest path to each terminal state; the cancel target is never the default
        (
            "done",
            [
                ("queued", None, {}),
                ("running", STEP_SECONDS, {}),
                # a field the state requires: null, which the mock fills with a schema-valid fake value
                ("done", STEP_SECONDS, {"result": None}),
            ],
        ),
        ("cancelled", [("queued", None, {}), ("cancelled", STEP_SECONDS, {})]),  # completed_at: the engine's
        (NEVER_FINISHES, [("queued", None, {})]),
    ],
)
def test_each_derived_scenario_walks_the_shortest_path(
    name: str, steps: list[tuple[str, Any, dict[str, Any]]]
) -> None:
    walked = [
        (step.state, step.after if step.after else None, dict(step.set)) for step in DERIVED[name].steps
    ]
    assert walked == steps

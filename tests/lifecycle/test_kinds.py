"""How a terminal state ended: declared ``kind`` first, then the cancel target, then its words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lifecycle.bundled import bundled_specs
from lifecycle.kinds import kinds, state_kind
from lifecycle.model import Lifecycle
from lifecycle.spec import load_spec


def lifecycle(api: str) -> Lifecycle:
    path = next(path for path in bundled_specs() if path.stem == api)
    return load_spec(path.read_text(encoding="utf-8"), str(path)).lifecycle


@pytest.mark.parametrize(
    ("api", "expected"),
    [
        (
            "privategpt",
            {"completed": "success", "failed": "failure", "cancelled": "cancel", "error": "failure"},
        ),
        ("letta", {"completed": "success", "failed": "failure", "cancelled": "cancel"}),
        ("invent", {"completed": "success", "failed": "failure", "canceled": "cancel"}),
        ("chatzy", {"completed": "success"}),
    ],
)
def test_the_bundled_apis_ends(api: str, expected: dict[str, str]) -> None:
    assert kinds(lifecycle(api)) == expected


def test_a_declared_kind_wins_and_the_cancel_target_is_a_cancel_whatever_its_name() -> None:
    model = lifecycle("privategpt")
    assert state_kind(model, "processing") is None
    states = dict(model.states)
    states["completed"] = replace(states["completed"], kind="failure")
    assert state_kind(replace(model, states=states), "completed") == "failure"
    assert model.cancel is not None
    renamed = replace(model, cancel=replace(model.cancel, to="failed"))
    assert state_kind(renamed, "failed") == "cancel"
    states["odd"] = replace(states["error"], name="odd", show={"status": "odd"})
    assert state_kind(replace(model, states=states), "odd") == "success"  # no word for it: the usual end

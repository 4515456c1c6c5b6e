"""A spec without ``x-lifecycle`` is served by the same endpoint as the others (issue 20)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from comeback.testing import START
from lifecycle.bundled import bundled_scenarios
from mockserver.app import create_app
from mockserver.fake import FakeData
from mockserver.settings import Settings
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "report-export.yaml"
REQUEST = {"report": "sales", "format": "csv"}


def served(**changes: Any) -> TestClient:
    chosen = Settings(
        (EXAMPLE,), scenario_dir=bundled_scenarios(), clock="manual", start_time=START, **changes
    )
    return TestClient(create_app(chosen))


def test_a_stateless_handler_that_fails_answers_a_shaped_500_and_is_journaled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(self: FakeData, schema: Any, seed: str) -> Any:
        raise RuntimeError("a bug in the fake data")

    monkeypatch.setattr(FakeData, "value", broken)
    client = served()
    answer = client.post("/exports", json=REQUEST)
    assert answer.status_code == 500
    assert answer.json() == {"detail": "comeback mock failed while handling createExport; see its log"}
    (entry,) = client.get("/__mock/journal").json()
    assert (entry["api"], entry["operation"], entry["status"]) == ("report-export", "createExport", 500)
    assert entry["request_body"] == REQUEST


def test_a_refused_stateless_request_is_journaled_with_its_body_as_read() -> None:
    client = served()
    refused = client.post("/exports", content=b'{"report": ""}', headers={"Content-Type": "application/json"})
    assert refused.status_code == 422
    (entry,) = client.get("/__mock/journal").json()
    assert (entry["operation"], entry["status"], entry["request_body"]) == (
        "createExport",
        422,
        {"report": ""},
    )

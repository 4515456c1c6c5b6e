"""Your own async API: `comeback init` drafts, derived scenarios walk, a spec without a lifecycle
is served statelessly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from starlette.testclient import TestClient

from comeback.cli import main
from comeback.testing import START
from contracts.probes import Options
from contracts.run import check
from lifecycle.bundled import bundled_scenarios
from lifecycle.draft import DraftError, draft_lifecycle
from lifecycle.lint import lint_document
from lifecycle.source import load_document
from mockserver.app import create_app
from mockserver.servers import serve_in_thread
from mockserver.settings import Settings
from tests.conftest import REPO, SPECS, TEST_SPECS

EXAMPLE = REPO / "examples" / "report-export.yaml"


def served(spec: Path, **changes: Any) -> TestClient:
    chosen = Settings(
        (spec,), scenario_dir=bundled_scenarios(), clock="manual", start_time=START, strict=True, **changes
    )
    return TestClient(create_app(chosen))


@pytest.fixture
def drafted(tmp_path: Path) -> Path:
    spec = tmp_path / "reports.yaml"
    shutil.copy(EXAMPLE, spec)
    assert main(["init", str(spec)]) == 0
    return spec


def test_init_appends_a_draft_that_lints_clean_with_a_note_on_every_guess(drafted: Path) -> None:
    text = drafted.read_text(encoding="utf-8")
    assert text.startswith(EXAMPLE.read_text(encoding="utf-8"))  # the user's file is kept as written
    assert lint_document(load_document(text, drafted.name)) == []  # OpenAPI meta-check included
    block = yaml.safe_load(text)["x-lifecycle"]
    assert block["create"] == {"operation": "createExport", "id": "$response.body#/id"}
    assert block["initial"] == "queued"
    assert [s for s, state in block["states"].items() if state.get("terminal")] == [
        "succeeded",
        "failed",
        "cancelled",
    ]
    assert block["cancel"]["operation"] == "cancelExport"
    assert block["delete"]["operation"] == "deleteExport"
    assert [view["operation"] for view in block["views"]] == ["createExport", "getExport", "cancelExport"]
    assert block["views"][0]["status"] == 202
    guessed = [line.split(":", 1)[0].strip() for line in text.splitlines() if "# guess:" in line]
    assert len(guessed) >= len(block) - 1  # every part but the decisions has its note


def test_init_writes_elsewhere_and_refuses_what_it_cannot_draft(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.yaml"
    assert main(["init", str(EXAMPLE), "--output", str(out)]) == 0
    assert "x-lifecycle:" in out.read_text(encoding="utf-8")
    assert "x-lifecycle" not in EXAMPLE.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["init", str(SPECS / "letta.yaml")]) == 2
    assert "already has an x-lifecycle block" in capsys.readouterr().err
    no_status = tmp_path / "plain.yaml"
    no_status.write_text(
        "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths:\n  /things:\n    post:\n"
        "      operationId: createThing\n      responses:\n        '200': {description: ok}\n",
        encoding="utf-8",
    )
    assert main(["init", str(no_status)]) == 1
    assert "no POST operation on a collection path answers an object with a status enum" in (
        capsys.readouterr().err
    )


def test_words_are_read_in_any_case_and_the_cancel_target_is_left_out_without_a_cancel() -> None:
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    status = document["components"]["schemas"]["Export"]["properties"]["status"]
    status["enum"] = ["PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELED"]
    del document["paths"]["/exports/{export_id}/cancel"]
    block = draft_lifecycle(document).block
    assert block["initial"] == "pending"  # state names are lower case; the value shows as it is
    assert block["states"]["pending"]["show"] == {"status": "PENDING"}
    assert block["transitions"] == {
        "pending": ["running", "canceled"],  # the server may cancel: every enum value is reachable
        "running": ["completed", "failed", "canceled"],
    }
    assert "cancel" not in block
    document["components"]["schemas"]["Export"]["properties"].pop("id")
    with pytest.raises(DraftError, match="no 'id' or '\\*_id' property"):
        draft_lifecycle(document)


@pytest.mark.parametrize("api", ["letta", "privategpt", "invent"])
def test_vendor_specs_without_their_block_get_drafts_that_lint_clean(api: str, tmp_path: Path) -> None:
    data = yaml.safe_load((SPECS / f"{api}.yaml").read_text(encoding="utf-8"))
    written = data.pop("x-lifecycle")
    spec = tmp_path / f"{api}.yaml"
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert main(["init", str(spec)]) == 0
    drafted = yaml.safe_load(spec.read_text(encoding="utf-8"))["x-lifecycle"]
    assert drafted["create"]["operation"] == written["create"]["operation"]
    assert set(drafted["states"]) == {state.lower() for state in written["states"]}
    assert drafted["views"][1]["operation"] in {view["operation"] for view in written["views"]}


def test_a_drafted_spec_is_served_with_derived_scenarios(drafted: Path) -> None:
    with served(drafted) as client:
        created = client.post("/exports", json={"report": "sales", "format": "csv"})
        assert created.status_code == 202
        export = created.json()
        assert (export["status"], export["finished_at"]) == ("queued", None)
        client.post("/__mock/clock", json={"seconds": 2})
        assert client.get(f"/exports/{export['id']}").json()["status"] == "running"
        client.post("/__mock/clock", json={"seconds": 2})
        done = client.get(f"/exports/{export['id']}").json()
        assert done["status"] == "succeeded"
        assert done["finished_at"] is not None
        headers = {"X-Mock-Scenario": "never-finishes"}
        stuck = client.post("/exports", json={"report": "x", "format": "pdf"}, headers=headers).json()
        client.post(f"/exports/{stuck['id']}/cancel")
        assert client.get(f"/exports/{stuck['id']}").json()["status"] == "cancelled"
        assert client.delete(f"/exports/{stuck['id']}").status_code == 204
        assert client.get(f"/exports/{stuck['id']}").status_code == 404
        listed = client.get("/__mock/scenarios").json()["reports"]
        assert listed["default"] == "succeeded"


def test_the_contract_kit_passes_the_mock_of_a_drafted_spec(drafted: Path) -> None:
    """End to end: the mock of a user's drafted spec keeps that spec's contract (lifecycle, cancel,
    delete) as the kit checks it over HTTP, with the scenarios derived from the lifecycle."""
    chosen = Settings((drafted,), scenario_dir=bundled_scenarios(), speed=20.0, strict=True)
    with serve_in_thread(create_app(chosen)) as url:
        report = check(
            drafted, url, phases=("lifecycle", "cancel", "delete"), options=Options(resources=2, deadline=10)
        )
    assert report.violations == [], report.summary()
    assert "lifecycle.reaches_terminal" in report.summary()


def test_a_spec_without_a_lifecycle_is_served_statelessly() -> None:
    with served(EXAMPLE) as client:
        assert client.app.state.stateless["report-export"].notice.startswith(  # type: ignore[attr-defined]
            "comeback mock: report-export ("
        )
        first = client.post("/exports", json={"report": "sales", "format": "csv"})
        assert first.status_code == 202
        schema = {"$ref": "#/components/schemas/Export", **yaml.safe_load(EXAMPLE.read_text())}
        jsonschema.validate(first.json(), schema, format_checker=jsonschema.FormatChecker())
        again = client.post("/exports", json={"report": "sales", "format": "csv"})
        assert again.json() == first.json()  # nothing is kept, the same request gets the same answer
        invalid = client.post("/exports", json={"report": ""})
        assert invalid.status_code == 422
        assert [problem["loc"] for problem in invalid.json()["detail"]] == [["body"], ["body", "report"]]
        assert client.delete(f"/exports/{first.json()['id']}").status_code == 204
        assert client.get("/__mock/resources").json() == []
        wrong = client.put("/exports")
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "POST")
        unknown = client.get("/nowhere").json()
        assert "GET /exports/{export_id}" in unknown["operations"]
        journal = client.get("/__mock/journal").json()
        assert [entry["operation"] for entry in journal] == [
            "createExport",
            "createExport",
            "createExport",
            "deleteExport",
            None,
            None,
        ]


def test_serve_says_in_one_line_what_the_block_would_add(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("comeback.serve_command.serving.run", lambda *args, **kwargs: None)
    monkeypatch.chdir(REPO)
    assert main(["serve", "--specs", "examples/report-export.yaml", str(TEST_SPECS / "minimal.yaml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("comeback mock: serving minimal, report-export on http://127.0.0.1:8000")
    assert lines[1].startswith(
        "comeback mock: report-export (examples/report-export.yaml) has no x-lifecycle"
    )
    assert len(lines) == 2

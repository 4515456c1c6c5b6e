"""Two async APIs that are not in the repo's examples, as a new user brings them: ``comeback init``
drafts their lifecycles, ``comeback serve`` mocks them, the default ``comeback check`` of the mock
passes, and the served data agrees with each state, the request and the mock's clock.

The specs (``tests/own_specs/``) document errors in their own shapes: the video-render API answers
``{"detail": "text"}``, the OCR API ``{"error": {"code", "message"}}``. Neither has an example:
the kit builds a schema-valid create body itself.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from comeback.cli import main
from comeback.testing import START
from lifecycle.bundled import bundled_scenarios
from lifecycle.lint import lint_document
from lifecycle.source import load_document
from mockserver.app import create_app
from mockserver.render import iso
from mockserver.servers import serve_in_thread
from mockserver.settings import Settings
from tests.contracts.budgets import CONFORMANCE_SECONDS, unreached_conformance

OWN = Path(__file__).resolve().parent / "own_specs"
TOKEN = "ocr-token"
STEP = 2.0  # seconds per step of a derived scenario
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def drafted(tmp_path: Path, name: str) -> Path:
    spec = tmp_path / f"{name}.yaml"
    shutil.copy(OWN / f"{name}.yaml", spec)
    assert main(["init", str(spec)]) == 0
    return spec


def settings(spec: Path, **changes: Any) -> Settings:
    return Settings((spec,), scenario_dir=bundled_scenarios(), strict=True, token=TOKEN, **changes)


@pytest.fixture
def renders(tmp_path: Path) -> Iterator[TestClient]:
    spec = drafted(tmp_path, "renders")
    with TestClient(create_app(settings(spec, clock="manual", start_time=START))) as client:
        yield client


@pytest.fixture
def ocr(tmp_path: Path) -> Iterator[TestClient]:
    spec = drafted(tmp_path, "ocr")
    with TestClient(create_app(settings(spec, clock="manual", start_time=START)), headers=AUTH) as client:
        yield client


@pytest.mark.parametrize("name", ["renders", "ocr"])
def test_init_serve_then_the_default_check_of_the_mock_passes(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = drafted(tmp_path, name)
    text = spec.read_text(encoding="utf-8")
    assert "# guess: " in text
    block = yaml.safe_load(text)["x-lifecycle"]
    assert any("sets" in state or "present" in state for state in block["states"].values())
    # the real clock at speed 1: each step lasts 2 s, longer than the kit's polls may be apart (a
    # faster mock let a loaded machine's polls miss a whole state, which the kit calls a bad move)
    # conformance: every check of every operation reached (a round takes seconds; 60 s only repeated it)
    report = tmp_path / "report.json"
    with serve_in_thread(create_app(settings(spec))) as url:
        code = main(
            [
                *("check", str(spec), "--base-url", url, "--header", f"Authorization: Bearer {TOKEN}"),
                *("--examples", "5", "--max-time", str(CONFORMANCE_SECONDS), "--quiet"),
                *("--report-json", str(report)),
            ]
        )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 violation(s)" in out
    assert "lifecycle.reaches_terminal" in out
    assert unreached_conformance(report) == []


def create_render(client: TestClient, scenario: str | None = None) -> dict[str, Any]:
    headers = {"X-Mock-Scenario": scenario} if scenario else {}
    response = client.post("/renders", json={"template_id": "intro", "preset": "4k"}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def advance(client: TestClient, seconds: float) -> None:
    assert client.post("/__mock/clock", json={"seconds": seconds}).status_code == 200


def test_a_render_shows_what_each_state_holds(renders: TestClient) -> None:
    render = create_render(renders)
    assert render["preset"] == "4k"  # sent in the create, shown as sent
    assert render["template_id"] == "intro"
    assert render["created_at"] == iso(START)  # the mock's clock, not a fake date
    queued = (render["status"], render["progress"], render["output_url"], render["error"])
    assert queued == ("queued", 0, None, None)
    assert (render["started_at"], render["finished_at"]) == (None, None)
    advance(renders, STEP)
    rendering = renders.get(f"/renders/{render['id']}").json()
    assert rendering["status"] == "rendering"
    assert rendering["started_at"] == iso(START + STEP)  # when it left the queue
    assert (rendering["output_url"], rendering["error"], rendering["finished_at"]) == (None, None, None)
    advance(renders, STEP)
    done = renders.get(f"/renders/{render['id']}").json()
    assert (done["status"], done["progress"], done["error"]) == ("succeeded", 1, None)
    assert done["output_url"].startswith(("http://", "https://"))
    assert (done["started_at"], done["finished_at"]) == (iso(START + STEP), iso(START + 2 * STEP))
    assert done["created_at"] == render["created_at"]


def test_a_failed_render_has_an_error_and_no_output_and_a_cancel_from_the_queue_never_started(
    renders: TestClient,
) -> None:
    failing = create_render(renders, "failed")
    waiting = create_render(renders, "never-finishes")
    cancelled = renders.post(f"/renders/{waiting['id']}/cancel").json()
    assert (cancelled["status"], cancelled["started_at"], cancelled["output_url"]) == ("canceled", None, None)
    assert cancelled["finished_at"] == iso(START)
    advance(renders, 2 * STEP)
    failed = renders.get(f"/renders/{failing['id']}").json()
    assert failed["status"] == "failed"
    assert isinstance(failed["error"], str)
    assert failed["error"]
    assert failed["output_url"] is None


def test_the_render_api_answers_errors_in_its_own_documented_shape(renders: TestClient) -> None:
    invalid = renders.post("/renders", json={"template_id": "", "preset": "8k"})
    assert invalid.status_code == 422
    assert list(invalid.json()) == ["detail"]
    assert isinstance(invalid.json()["detail"], str)  # {detail: string}, not FastAPI's list
    assert "preset" in invalid.json()["detail"]
    missing = renders.get("/renders/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert isinstance(missing.json()["detail"], str)


def test_an_ocr_batch_shows_what_each_state_holds(ocr: TestClient) -> None:
    sent = {"documents": [{"url": "https://docs.example/a.pdf"}], "language": "fr"}
    batch = ocr.post("/v2/batches", json=sent).json()
    assert (batch["state"], batch["pages_done"], batch["results_url"], batch["failure_reason"]) == (
        "PENDING",
        0,
        None,
        None,
    )
    assert (batch["language"], batch["submitted_at"], batch["completed_at"]) == ("fr", iso(START), None)
    advance(ocr, 2 * STEP)
    done = ocr.get(f"/v2/batches/{batch['batch_id']}").json()
    assert (done["state"], done["failure_reason"], done["completed_at"]) == (
        "COMPLETED",
        None,
        iso(START + 2 * STEP),
    )
    assert done["results_url"].startswith(("http://", "https://"))
    for scenario in ("failed", "expired"):
        ended = ocr.post("/v2/batches", json=sent, headers={"X-Mock-Scenario": scenario}).json()
        advance(ocr, 2 * STEP)
        shown = ocr.get(f"/v2/batches/{ended['batch_id']}").json()
        assert shown["state"] == scenario.upper()
        assert shown["results_url"] is None
        assert isinstance(shown["failure_reason"], str)


def test_the_ocr_api_answers_errors_in_its_own_documented_shape(ocr: TestClient) -> None:
    invalid = ocr.post("/v2/batches", json={"documents": [], "language": "xx"})
    assert invalid.status_code == 422
    error = invalid.json()["error"]
    assert error["code"] == "invalid_request"
    assert "documents" in error["message"]
    assert list(invalid.json()) == ["error"]
    unauthorized = ocr.get("/v2/batches/b1", headers={"Authorization": "Bearer wrong"})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["code"] == "unauthorized"
    missing = ocr.get("/v2/batches/nope")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_without_a_lifecycle_too_errors_come_in_the_documented_shape() -> None:
    """Served statelessly (no x-lifecycle yet): the same documented shapes."""
    chosen = Settings((OWN / "renders.yaml", OWN / "ocr.yaml"), strict=True, token=TOKEN)
    with TestClient(create_app(chosen)) as client:
        invalid = client.post("/renders", json={"preset": "8k"})
        assert invalid.status_code == 422
        assert isinstance(invalid.json()["detail"], str)
        refused = client.post("/v2/batches", json={"language": "de"})
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "unauthorized")
        invalid = client.post("/v2/batches", json={"language": "de"}, headers=AUTH)
        assert (invalid.status_code, invalid.json()["error"]["code"]) == (422, "invalid_request")


def test_a_state_that_sets_an_undeclared_field_is_a_finding(tmp_path: Path) -> None:
    spec = drafted(tmp_path, "renders")
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    data["x-lifecycle"]["states"]["queued"]["sets"]["progres"] = 0
    findings = lint_document(load_document(yaml.safe_dump(data), "renders.yaml"), validate_openapi=False)
    assert [(f.pointer, f.suggestion) for f in findings] == [
        ("/x-lifecycle/states/queued/sets/progres", "progress")
    ]

"""Hot reload: a scenario file edited on disk under a running server (uvicorn on a free port)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockserver.app import create_app
from mockserver.catalog import load_catalog
from mockserver.servers import serve_in_thread
from tests.conftest import TEST_SPECS
from tests.mockserver.conftest import AGENT, AUTH, settings

SCENARIO = """api: letta
description: {description}
match: {{text_contains: "#mine"}}
steps:
  - state: created
  - state: {end}
    after: {after}
    set: {{stop_reason: {reason}}}
"""


def scenario(description: str, end: str, after: str, reason: str) -> str:
    return SCENARIO.format(description=description, end=end, after=after, reason=reason)


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 15
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_an_edited_file_is_swapped_in_and_a_broken_one_keeps_the_previous_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="comeback.reload")
    path = tmp_path / "letta" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(scenario("First.", "completed", "10s", "end_turn"), encoding="utf-8")
    app = create_app(settings(apis=frozenset({"letta"}), scenario_layers=(tmp_path,), watch=True))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as client:

        def create() -> str:
            body = {"messages": [{"role": "user", "content": "#mine"}]}
            response = client.post(f"/v1/agents/{AGENT}/messages/async", json=body, headers=AUTH["letta"])
            assert response.status_code == 200, response.text
            run_id: str = response.json()["id"]
            return run_id

        def history(run_id: str) -> list[str]:
            described = client.get(f"/__mock/resources/letta/{run_id}").json()
            return [entry["state"] for entry in described["history"]]

        def description() -> str:
            text: str = client.get("/__mock/scenarios/letta/mine").json()["scenario"]["description"]
            return text

        before = create()
        path.write_text(scenario("Second.", "completed", "3s", "end_turn"), encoding="utf-8")
        wait_for(lambda: description() == "Second.", "the edited file to be served")
        assert "letta: scenarios reloaded: " in caplog.text
        after = create()
        client.post("/__mock/clock", json={"seconds": 3})
        assert history(after) == ["created", "completed"]  # the new timeline: done after 3 s
        assert history(before) == ["created"]  # in flight: still its own 10 s timeline
        client.post("/__mock/clock", json={"seconds": 7})
        assert history(before) == ["created", "completed"]

        caplog.clear()
        path.write_text(scenario("Third.", "complted", "1s", "end_turn"), encoding="utf-8")
        wait_for(lambda: "complted" in caplog.text, "the broken file's findings in the log")
        assert "mine.yaml:6: /steps/1/state: unknown state; found 'complted'" in caplog.text
        assert "the previous version of each broken file stays in use" in caplog.text
        assert description() == "Second."  # the previous version stays in use
        client.post("/__mock/clock", json={"seconds": 1})
        third = create()
        client.post("/__mock/clock", json={"seconds": 3})
        assert history(third) == ["created", "completed"]

        (tmp_path / "letta" / "added.yaml").write_text(
            "api: letta\ndescription: Added.\nsteps:\n  - state: created\n", encoding="utf-8"
        )
        wait_for(lambda: client.get("/__mock/scenarios/letta/added").status_code == 200, "a new file")


@pytest.mark.parametrize("catalog_given", [False, True], ids=["files-from-start", "catalog-given"])
def test_a_file_broken_at_its_first_edit_keeps_the_version_the_server_started_with(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, catalog_given: bool
) -> None:
    # the reloader remembers the started versions: handed over by create_app (the files it loaded),
    # or read again at start when the app was given a catalog loaded elsewhere
    caplog.set_level(logging.INFO, logger="comeback.reload")
    path = tmp_path / "letta" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(scenario("First.", "completed", "10s", "end_turn"), encoding="utf-8")
    chosen = settings(apis=frozenset({"letta"}), scenario_layers=(tmp_path,), watch=True)
    catalog = load_catalog(chosen.spec_paths, chosen.scenario_folders(), apis=chosen.apis)
    app = create_app(chosen, catalog=catalog if catalog_given else None)
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        path.write_text(scenario("Broken.", "complted", "1s", "end_turn"), encoding="utf-8")
        wait_for(lambda: "complted" in caplog.text, "the broken file's findings in the log")
        got = client.get("/__mock/scenarios/letta/mine")
        assert got.status_code == 200, got.text
        assert got.json()["scenario"]["description"] == "First."


def test_without_watch_nothing_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "letta" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(scenario("First.", "completed", "10s", "end_turn"), encoding="utf-8")
    app = create_app(settings(apis=frozenset({"letta"}), scenario_layers=(tmp_path,)))
    with serve_in_thread(app) as base, httpx.Client(base_url=base, timeout=10) as client:
        path.write_text(scenario("Second.", "completed", "3s", "end_turn"), encoding="utf-8")
        time.sleep(1)  # longer than a reload takes when watching (the test above waits for it)
        got = client.get("/__mock/scenarios/letta/mine").json()
        assert got["scenario"]["description"] == "First."


LOG_PATH = """  /jobs/{job_id}/log:
    parameters:
      - {name: job_id, in: path, required: true, schema: {type: string}}
    get:
      operationId: getJobLog
      responses:
        "200":
          description: The job's log lines.
          content:
            application/json:
              schema:
                type: object
                required: [lines]
                properties: {lines: {type: array, items: {type: string}}}
"""


def test_a_changed_spec_is_served_and_a_broken_one_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="comeback.reload")
    spec = tmp_path / "jobs.yaml"
    original = (TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8")
    spec.write_text(original, encoding="utf-8")
    chosen = settings(spec_paths=(spec,), scenario_dir=None, watch=True)
    with serve_in_thread(create_app(chosen)) as base, httpx.Client(base_url=base, timeout=10) as client:
        job = client.post("/jobs", json={"input": "x"}).json()
        assert client.get(f"/jobs/{job['id']}/log").status_code == 404
        spec.write_text(
            original.replace("  /jobs/{job_id}/cancel:\n", LOG_PATH + "  /jobs/{job_id}/cancel:\n")
        )
        wait_for(lambda: client.get(f"/jobs/{job['id']}/log").status_code == 200, "the new operation")
        assert isinstance(client.get(f"/jobs/{job['id']}/log").json()["lines"], list)
        wrong = client.delete(f"/jobs/{job['id']}/log")  # the 405 table knows the new path too
        assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET")
        assert "jobs: the changed spec is served (4 operations)" in caplog.text
        client.post("/__mock/clock", json={"seconds": 4})
        assert client.get(f"/jobs/{job['id']}").json()["status"] == "done"  # in flight, still walking

        caplog.clear()
        spec.write_text(original.replace("initial: queued", "initial: queud"), encoding="utf-8")
        wait_for(lambda: "queud" in caplog.text, "the broken spec's findings")
        assert "the changed spec has problems; the previous one stays in use" in caplog.text
        assert client.get(f"/jobs/{job['id']}/log").status_code == 200

        caplog.clear()
        other = client.post("/jobs", json={"input": "y"}).json()  # queued for 2 s
        spec.write_text(original.replace("queued", "waiting"), encoding="utf-8")
        wait_for(lambda: "in states the changed spec removes" in caplog.text, "a refusal")
        assert client.get(f"/jobs/{other['id']}").json()["status"] == "queued"

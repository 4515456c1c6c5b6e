"""Hot reload: a scenario file edited on disk under a running server (uvicorn on a free port)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from mockserver.app import create_app
from mockserver.servers import serve_in_thread
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

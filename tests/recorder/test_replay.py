"""The mock replays a recorded server (``mockserver/replay.py``): its answers with their bodies, a
connection it cut, its reaction to a cancel (cancelled, then completed 2.5 s later) and to a failed
delete (the run stays readable), its timestamp formats and its latency, scaled by ``--speed``."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lifecycle.bundled import bundled_scenarios
from mockserver.app import create_app as mock_app
from mockserver.servers import serve_in_thread
from tests.mockserver.conftest import AGENT, AUTH, settings
from tests.recorder.test_recorded_parts import CANCEL

REDIS = "Background streaming requires Redis to be running."
RECORDED: dict[str, Any] = {
    "api": "letta",
    "description": "Recorded from a Letta server.",
    "deviations": ["naive-completed-at"],
    "steps": [
        {"state": "created"},
        {"state": "completed", "after": "10s", "set": {"stop_reason": "end_turn"}},
    ],
    "answers": {
        "retrieveStreamForRun": {"status": 503, "body": {"detail": REDIS}},
        "listMessagesForRun": {"status": 200, "body": [{"run_id": "${id}", "message_type": "user_message"}]},
    },
    "reactions": [
        CANCEL,
        {
            "action": "delete",
            "answer": {"status": 500, "body": {"detail": "An unknown error occurred"}, "connection": "drop"},
            "resource": "kept",
            "steps": [],
        },
    ],
    "formats": {
        "completed_at": {"offset": "none", "digits": 6},
        "created_at": {"offset": "+00:00", "digits": 3},
    },
    "timing": {"latency": {"retrieveRun": "200ms", "listMessagesForRun": {"uniform": ["100ms", "300ms"]}}},
}
HEADERS = {**AUTH["letta"], "X-Mock-Scenario": "recorded"}


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    folder = tmp_path / "scenarios"
    shutil.copytree(bundled_scenarios(), folder)
    (folder / "letta" / "recorded.yaml").write_text(yaml.safe_dump(RECORDED), encoding="utf-8")
    app = mock_app(settings(scenario_dir=folder, speed=4.0))
    with serve_in_thread(app) as url:
        yield url, app


def create(client: httpx.Client) -> str:
    answer = client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "hi"}, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


def test_answers_are_the_servers_own_with_the_resource_id(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with httpx.Client(base_url=url, headers=AUTH["letta"]) as client:
        run = create(client)
        stream = client.post(f"/v1/runs/{run}/stream", json={})
        assert (stream.status_code, stream.json()) == (503, {"detail": REDIS})
        messages = client.get(f"/v1/runs/{run}/messages")
        assert messages.json() == [{"run_id": run, "message_type": "user_message"}]


def test_a_cancel_answers_cancelled_then_the_run_turns_completed_as_recorded(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with httpx.Client(base_url=url, headers=AUTH["letta"]) as client:
        run = create(client)
        answer = client.post(f"/v1/agents/{AGENT}/messages/cancel", json={"run_ids": [run]})
        assert answer.json() == {run: "cancelled"}
        assert client.get(f"/v1/runs/{run}").json()["status"] == "cancelled"
        client.post("/__mock/clock", json={"seconds": 2.4})
        assert client.get(f"/v1/runs/{run}").json()["status"] == "cancelled"
        client.post("/__mock/clock", json={"seconds": 0.2})
        later = client.get(f"/v1/runs/{run}").json()
        assert (later["status"], later["stop_reason"]) == ("completed", "end_turn")
        # a cancel of the finished run was not recorded: the mock answers as the spec says
        assert client.post(f"/v1/agents/{AGENT}/messages/cancel", json={"run_ids": [run]}).status_code == 200
        assert client.get(f"/v1/runs/{run}").json()["status"] == "completed"


def test_a_failed_delete_cuts_the_connection_and_leaves_the_run_readable(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with httpx.Client(base_url=url, headers=AUTH["letta"]) as client:
        run = create(client)
        answer = client.delete(f"/v1/runs/{run}")
        assert (answer.status_code, answer.json()) == (500, {"detail": "An unknown error occurred"})
        with pytest.raises(httpx.TransportError):  # the next request on that connection: no answer
            client.get(f"/v1/runs/{run}")
        again = client.get(f"/v1/runs/{run}")  # a new connection
        assert (again.status_code, again.json()["status"]) == (200, "created")


def test_timestamps_are_written_as_the_server_wrote_them(mock: tuple[str, Any]) -> None:
    url, _ = mock
    with httpx.Client(base_url=url, headers=AUTH["letta"]) as client:
        run = create(client)
        client.post("/__mock/clock", json={"seconds": 11})
        body = client.get(f"/v1/runs/{run}").json()
    assert body["status"] == "completed"
    assert body["created_at"].endswith("+00:00")
    assert len(body["created_at"].split(".")[1]) == len("123+00:00")
    assert body["completed_at"][-1].isdigit()
    assert len(body["completed_at"].split(".")[1]) == 6


def test_latency_is_slept_per_operation_divided_by_speed(mock: tuple[str, Any], monkeypatch: Any) -> None:
    url, app = mock
    engine = app.state.engine
    slept: list[float] = []
    original = engine.pause

    async def pause(seconds: float) -> bool:
        slept.append(seconds)
        return bool(await original(0))

    monkeypatch.setattr(engine, "pause", pause)
    with httpx.Client(base_url=url, headers=AUTH["letta"]) as client:
        run = create(client)
        assert slept == []  # no latency was recorded for the create
        client.get(f"/v1/runs/{run}")
        assert slept == [pytest.approx(0.2 / 4.0)]
        for _ in range(5):
            client.get(f"/v1/runs/{run}/messages")
    drawn = slept[1:]
    assert len(drawn) == 5
    assert all(0.1 / 4.0 <= seconds <= 0.3 / 4.0 for seconds in drawn)
    assert len(set(drawn)) > 1  # drawn from the distribution, not one value

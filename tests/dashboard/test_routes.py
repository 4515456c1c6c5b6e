"""The dashboard's routes: the page, its event streams (SSE framing over a real socket) and its
admin calls (cancel, delete, advance to the next change, check and queue a scenario)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from comeback.testing import START, MockServer, at_once
from mockserver.ui import is_page_file
from tests.dashboard.clients import AUTH, CLOSED_PORT, create_message, create_run

BROKEN = "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: runing\n    after: 1s\n"
GOOD = "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: running\n    after: 1s\n"


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer.start() as server:
        yield server


@pytest.fixture
def served() -> Iterator[MockServer]:
    with MockServer.start(port=True) as server:
        yield server


class Events:
    """An open event stream, read frame by frame as a client reads it."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def next(self) -> tuple[str, Any]:
        event, data = "message", list[str]()
        for line in self.lines:
            if not line:
                if data:
                    return event, json.loads("\n".join(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        raise AssertionError("the stream ended")

    def until(self, wanted: str) -> Any:
        for _ in range(50):
            event, data = self.next()
            if event == wanted:
                return data
        raise AssertionError(f"no {wanted!r} event")


def stream(server: MockServer, path: str) -> Any:
    return httpx.stream("GET", server.url + path, timeout=httpx.Timeout(10.0))


def test_the_page_and_its_files_are_served_with_a_strict_policy(mock: MockServer) -> None:
    page = mock.client.get("/__mock/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="/__mock/ui/static/app.js">' in page.text
    for name in ("app.js", "api.js", "chart.js", "editor.js"):
        script = mock.client.get(f"/__mock/ui/static/{name}")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]
    assert mock.client.get("/__mock/ui/static/style.css").status_code == 200
    assert mock.client.get("/__mock/ui/static/missing.js").status_code == 404


def test_the_list_stream_starts_with_a_snapshot_then_pushes_changes(served: MockServer) -> None:
    first = create_message(served, message_id="before")
    with stream(served, "/__mock/events") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = Events(response)
        snapshot = events.until("snapshot")
        assert [r["id"] for r in snapshot["resources"]] == [first]
        assert snapshot["clock"] == {"mode": "manual", "speed": 1.0, "now": START}
        assert snapshot["scenarios"]["privategpt"]["default"] == "happy"
        assert snapshot["apis"]["letta"]["states"][0] == "created"
        assert snapshot["apis"]["privategpt"]["kinds"] == {
            "completed": "success",
            "failed": "failure",
            "cancelled": "cancel",
            "error": "failure",
        }
        assert snapshot["apis"]["chatzy"]["shows"]["queued"] == (
            "stream_status=is_streaming, response_processing_status=None"
        )
        assert snapshot["resources"][0]["kind"] is None  # not terminal
        assert [e["path"] for e in snapshot["journal"]] == ["/v1/messages/async"]

        second = create_message(served, message_id="after")
        rows = events.until("resources")
        assert [(r["id"], r["state"]) for r in rows] == [(second, "pending")]
        assert events.until("journal")["entries"][0]["path"] == "/v1/messages/async"

        served.client.post("/__mock/clock", json={"seconds": 1})
        rows = events.until("resources")
        assert sorted((r["id"], r["state"]) for r in rows) == [
            ("after", "processing"),
            ("before", "processing"),
        ]

        served.client.delete(
            "/__mock/resources/privategpt/after", headers={"Content-Type": "application/json"}
        )
        assert events.until("deleted") == [{"api": "privategpt", "id": "after"}]

        served.client.post("/__mock/reset", json={})
        assert events.until("snapshot")["resources"] == []


def test_the_resource_stream_sends_detail_text_and_deletion(served: MockServer) -> None:
    message = create_message(served, scenario="scripted-reply", message_id="talk")
    with stream(served, f"/__mock/resources/privategpt/{message}/events") as response:
        events = Events(response)
        detail = events.until("detail")
        assert (detail["state"], detail["step"], detail["streams"]) == ("pending", 0, True)
        assert [s["state"] for s in detail["steps"]] == ["pending", "processing", "completed"]
        assert detail["request"]["messages"][0]["content"] == "Hello"
        assert events.until("journal")["entries"][0]["resource_id"] == "talk"
        served.client.post("/__mock/clock", json={"seconds": 3})
        text = events.until("text")
        assert not text["append"]
        assert 0 < text["due"] < text["of"]
        assert "The quarterly report" in text["text"]
        served.client.post("/__mock/clock", json={"seconds": 3})
        rest = events.until("text")
        assert rest["append"]
        assert rest["due"] == rest["of"]
        assert (text["text"] + rest["text"]).endswith("new subscriptions.")
        served.client.delete(
            f"/__mock/resources/privategpt/{message}", headers={"Content-Type": "application/json"}
        )
        assert events.until("deleted") == {"api": "privategpt", "id": "talk"}


def test_the_resource_stream_shows_the_callback_outcome(served: MockServer) -> None:
    run = create_run(served, callback_url=CLOSED_PORT)
    with stream(served, f"/__mock/resources/letta/{run}/events") as response:
        events = Events(response)
        assert events.until("detail")["callback"] == {"outcome": None, "pending": True}
        served.client.post("/__mock/clock", json={"seconds": 5})
        for _ in range(10):
            callback = events.until("detail")["callback"]
            if callback["outcome"] is not None:
                break
        assert callback["pending"] is False
        assert callback["outcome"]["status_code"] is None
        assert "ConnectError" in callback["outcome"]["error"]


def test_closing_the_hub_ends_every_event_stream(served: MockServer) -> None:
    run = create_run(served, scenario="never-finishes")
    with (
        stream(served, "/__mock/events") as listing,
        stream(served, f"/__mock/resources/letta/{run}/events") as one,
    ):
        listing_events, one_events = Events(listing), Events(one)
        listing_events.until("snapshot")
        one_events.until("detail")
        one_events.until("journal")
        served.engine.events.close()  # from this thread: handed to the server's loop
        assert [line for line in listing_events.lines if line] == []  # the stream ends, nothing more
        assert [line for line in one_events.lines if line] == []


def test_a_stream_for_an_unknown_resource_is_a_404_problem(mock: MockServer) -> None:
    response = mock.client.get("/__mock/resources/letta/nope/events")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_cancel_and_delete(mock: MockServer) -> None:
    run = create_run(mock, scenario="never-finishes")
    cancelled = mock.client.post(f"/__mock/resources/letta/{run}/cancel", json={})
    assert cancelled.status_code == 200
    assert (cancelled.json()["state"], cancelled.json()["changed"]) == ("cancelled", True)
    again = mock.client.post(f"/__mock/resources/letta/{run}/cancel", json={}).json()
    assert (again["state"], again["changed"]) == ("cancelled", False)
    deleted = mock.client.request("DELETE", f"/__mock/resources/letta/{run}", json={})
    assert deleted.json() == {"api": "letta", "id": run, "deleted": True}
    assert mock.client.get(f"/__mock/resources/letta/{run}").status_code == 404
    assert mock.client.request("DELETE", f"/__mock/resources/letta/{run}", json={}).status_code == 404


def test_cancel_where_the_lifecycle_has_none_is_refused(mock: MockServer) -> None:
    message = mock.client.post(
        "/chats/chat-1/messages",
        json={"message": [{"type": "text", "text": "hi"}]},
        headers=AUTH["invent"],
    ).json()["id"]
    response = mock.client.post(f"/__mock/resources/invent/{message}/cancel", json={})
    if mock.engine.lifecycle("invent").cancel is None:
        assert response.status_code == 409
        assert response.json()["title"] == "No cancel"
    else:
        assert response.json()["state"] == mock.engine.lifecycle("invent").cancel.to  # type: ignore[union-attr]


def test_advance_to_the_next_change(mock: MockServer) -> None:
    assert mock.client.post("/__mock/clock/next-change", json={}).status_code == 409  # nothing due
    create_run(mock, scenario="slow")  # completed after 25 s
    create_message(mock)  # processing after 1 s, completed 2 s later
    moved = [mock.client.post("/__mock/clock/next-change", json={}).json()["now"] - START for _ in range(3)]
    assert moved == [1.0, 3.0, 25.0]
    assert mock.client.post("/__mock/clock/next-change", json={}).status_code == 409


def test_advance_to_the_next_change_needs_the_manual_clock() -> None:
    with MockServer.start(clock="real") as mock:
        response = mock.client.post("/__mock/clock/next-change", json={})
    assert response.status_code == 409
    assert response.json()["title"] == "Clock is not manual"


def test_check_reports_every_problem_at_its_line(mock: MockServer) -> None:
    checked = mock.client.post(
        "/__mock/ui/scenarios/letta/check", json={"name": "mine", "text": BROKEN}
    ).json()
    assert checked["ok"] is False
    [finding] = checked["findings"]
    assert (finding["line"], finding["pointer"], finding["message"]) == (5, "/steps/1/state", "unknown state")
    assert finding["suggestion"] == "running"
    assert finding["text"].startswith("mine.yaml:5: /steps/1/state: unknown state; found 'runing'")
    yaml_error = mock.client.post("/__mock/ui/scenarios/letta/check", json={"text": "api: [letta\n"}).json()
    assert yaml_error["findings"][0]["line"] == 2
    assert "not valid YAML" in yaml_error["findings"][0]["message"]
    fine = mock.client.post("/__mock/ui/scenarios/letta/check", json={"name": "mine", "text": GOOD}).json()
    assert fine["ok"] is True
    assert [s["state"] for s in fine["scenario"]["steps"]] == ["created", "running"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/__mock/ui/scenarios/nope/check", {"text": GOOD}, 404),
        ("/__mock/ui/scenarios/letta/check", {"name": "x"}, 400),
        ("/__mock/ui/scenarios/letta/check", ["not", "an", "object"], 400),
        ("/__mock/ui/scenarios/letta/check", {"text": "x" * 300_000}, 413),
        ("/__mock/ui/scenarios/letta/queue", {"text": BROKEN}, 400),
    ],
)
def test_bad_scenario_calls_are_problems(mock: MockServer, path: str, body: Any, status: int) -> None:
    response = mock.client.post(path, json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert (
        at_once(lambda: mock.engine.book.queued(mock.namespace, "letta"), mock.namespace) == []
    )  # nothing changed


def test_a_queued_scenario_from_the_page_is_walked_by_the_next_resource(mock: MockServer) -> None:
    queued = mock.client.post("/__mock/ui/scenarios/letta/queue", json={"name": "mine", "text": GOOD})
    assert queued.json() == {"api": "letta", "queued": ["mine"]}
    run = create_run(mock)
    mock.advance(1)
    assert mock.state("letta", run) == "running"
    assert mock.client.get("/__mock/ui/scenarios").json()["letta"]["queued"] == []


def test_a_scenarios_source_for_the_editor(mock: MockServer) -> None:
    source = mock.client.get("/__mock/ui/scenarios/letta/slow").json()
    assert source["text"].startswith("# Slow run")
    assert "after: 25s" in source["text"]
    assert mock.client.get("/__mock/ui/scenarios/letta/nope").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "public"),
    [
        ("GET", "/__mock/ui", True),
        ("GET", "/__mock/ui/", True),
        ("HEAD", "/__mock/ui/static/app.js", True),
        ("GET", "/__mock/ui/static/../../__mock/journal", False),
        ("POST", "/__mock/ui", False),
        ("GET", "/__mock/events", False),
        ("GET", "/__mock/ui/scenarios", False),
        ("GET", "/__mock/uix", False),
    ],
)
def test_which_requests_are_the_page_files(method: str, path: str, public: bool) -> None:
    assert is_page_file(method, path) is public


def test_a_path_escaping_the_static_folder_is_refused(mock: MockServer) -> None:
    response = mock.client.get("/__mock/ui/static/..%2F..%2Fengine.py")
    assert response.status_code == 404

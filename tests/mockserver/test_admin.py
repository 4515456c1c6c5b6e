"""The admin API under /__mock/."""

from __future__ import annotations

from tests.mockserver import clients
from tests.mockserver.conftest import Mock


def test_resources_show_scenario_state_and_history(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "happy")
    mock.advance(1.5)
    resource = mock.resource("privategpt", message)
    assert resource["scenario"] == "happy"
    assert resource["state"] == "processing"
    assert [(h["state"], h["cause"]) for h in resource["history"]] == [
        ("pending", "created"),
        ("processing", "time"),
    ]
    assert resource["history"][1]["at"] == "2025-06-15T15:06:41.000000Z"
    assert resource["next_change_at"] == "2025-06-15T15:06:43.000000Z"
    listing = mock.client.get("/__mock/resources", params={"api": "privategpt"}).json()
    assert [r["id"] for r in listing] == [message]


def test_force_next_step(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "never-finishes")
    forced = mock.client.post(f"/__mock/resources/letta/{run}/next", json={}).json()
    assert forced["state"] == "created"  # never-finishes has no next step: nothing to force
    slow = clients.create(mock.client, "letta", "slow")
    forced = mock.client.post(f"/__mock/resources/letta/{slow}/next", json={}).json()
    assert forced["state"] == "completed"
    assert forced["history"][-1]["cause"] == "forced"
    assert clients.state(mock.client, "letta", slow) == "completed"


def test_journal_records_requests_in_order(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "slow")
    clients.read(mock.client, "letta", run)
    entries = mock.journal()
    assert [(e["method"], e["operation"], e["status"], e["scenario"]) for e in entries] == [
        ("POST", "createAgentMessageAsync", 200, "slow"),
        ("GET", "retrieveRun", 200, "slow"),
    ]
    assert entries[1]["resource_id"] == run
    assert entries[1]["latency_ms"] >= 0
    assert entries[1]["headers"]["authorization"] == "Bearer ***"  # credentials are masked
    mock.client.request("DELETE", "/__mock/journal", json={})
    assert mock.journal() == []


def test_reset_forgets_everything(mock: Mock) -> None:
    run = clients.create(mock.client, "letta")
    mock.client.put("/__mock/scenarios/letta/default", json={"name": "slow"})
    assert mock.client.post("/__mock/reset", json={}).json() == {"reset": True}
    assert mock.client.get("/__mock/resources").json() == []
    assert mock.journal() == []
    assert clients.read(mock.client, "letta", run)[0] == 404
    assert mock.client.get("/__mock/scenarios").json()["letta"]["default"] == "happy"


def test_scenarios_are_listed_with_their_steps(mock: Mock) -> None:
    listing = mock.client.get("/__mock/scenarios").json()
    assert set(listing) == {"privategpt", "chatzy", "invent", "letta"}
    happy = next(s for s in listing["privategpt"]["scenarios"] if s["name"] == "happy")
    assert [step["state"] for step in happy["steps"]] == ["pending", "processing", "completed"]
    assert happy["description"]


def test_clock_reports_and_refuses_bad_advances(mock: Mock) -> None:
    clock = mock.client.get("/__mock/clock").json()
    assert clock["mode"] == "manual"
    assert clock["now"] == "2025-06-15T15:06:40.000000Z"
    assert mock.client.post("/__mock/clock", json={"seconds": -1}).status_code == 400
    assert mock.client.post("/__mock/clock", json={"secs": 1}).status_code == 400
    assert (
        mock.client.post("/__mock/clock", json={"seconds": 2.5}).json()["now"]
        == "2025-06-15T15:06:42.500000Z"
    )


def test_unknown_resource_is_a_problem(mock: Mock) -> None:
    response = mock.client.get("/__mock/resources/letta/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_queue_scenarios_for_the_next_resources(mock: Mock) -> None:
    for name in ("failed", "slow"):
        queued = mock.client.post("/__mock/scenarios/letta/next", json={"name": name})
    assert queued.json() == {"api": "letta", "queued": ["failed", "slow"]}
    runs = [clients.create(mock.client, "letta") for _ in range(3)]
    assert [mock.resource("letta", run)["scenario"] for run in runs] == ["failed", "slow", "happy"]
    refused = mock.client.post("/__mock/scenarios/letta/next", json={"name": "nope"})
    assert refused.status_code == 400
    assert mock.client.post("/__mock/scenarios/nope/next", json={"name": "happy"}).status_code == 404

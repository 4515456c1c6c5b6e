"""End-to-end flows per API on the manual clock: each bundled scenario walked state by state."""

from __future__ import annotations

import pytest

from lifecycle.bundled import bundled_dir, bundled_specs
from mockserver.catalog import load_catalog
from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, Mock

# (api, scenario, [(seconds to advance before the read, state the read must show)])
TIMED_FLOWS = [
    ("privategpt", "happy", [(0, "pending"), (1, "processing"), (2, "completed"), (100, "completed")]),
    ("privategpt", "error", [(0, "pending"), (1, "processing"), (1.5, "error")]),
    ("privategpt", "cancelled", [(0, "pending"), (1, "processing"), (2, "cancelled")]),
    ("privategpt", "never-finishes", [(0, "pending"), (1, "processing"), (86_400, "processing")]),
    ("letta", "happy", [(0, "created"), (2, "completed")]),
    ("letta", "with-running", [(0, "created"), (1, "running"), (2, "completed")]),
    ("letta", "failed", [(0, "created"), (2, "failed")]),
    ("letta", "never-finishes", [(0, "created"), (86_400, "created")]),
    ("invent", "happy", [(0, "running"), (2, "completed")]),
    ("invent", "failed", [(0, "running"), (2, "failed")]),
    ("invent", "canceled", [(0, "running"), (2, "canceled")]),
    ("chatzy", "happy", [(0, "queued"), (1, "processing"), (2, "completed")]),
    ("chatzy", "skips-processing", [(0, "queued"), (1.5, "completed")]),
]


@pytest.mark.parametrize(
    ("api", "scenario", "plan"), TIMED_FLOWS, ids=[f"{a}-{s}" for a, s, _ in TIMED_FLOWS]
)
def test_timed_scenario_walks_state_by_state(
    mock: Mock, api: str, scenario: str, plan: list[tuple[float, str]]
) -> None:
    resource_id = clients.create(mock.client, api, scenario)
    seen = []
    for seconds, _ in plan:
        if seconds:
            mock.advance(seconds)
        seen.append(clients.state(mock.client, api, resource_id))
    assert seen == [expected for _, expected in plan]


@pytest.mark.parametrize("api", ["privategpt", "letta", "invent", "chatzy"])
def test_read_driven_scenario_moves_on_reads_not_time(mock: Mock, api: str) -> None:
    resource_id = clients.create(mock.client, api, "read-driven")
    first = clients.state(mock.client, api, resource_id)
    mock.advance(3600)
    states = [first] + [clients.state(mock.client, api, resource_id) for _ in range(6)]
    assert states[0] == states[1]  # an hour changes nothing
    assert states[-1] in {"completed"}
    assert len(set(states)) >= 2


def test_privategpt_read_driven_counts_exactly(mock: Mock) -> None:
    resource_id = clients.create(mock.client, "privategpt", "read-driven")
    states = [clients.state(mock.client, "privategpt", resource_id) for _ in range(6)]
    # processing after 2 reads of pending, completed after 3 reads of processing
    assert states == ["pending", "pending", "processing", "processing", "processing", "completed"]


def test_failure_fields_follow_the_state(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "error")
    _, before = clients.read(mock.client, "privategpt", message)
    mock.advance(5)
    _, after = clients.read(mock.client, "privategpt", message)
    assert before["error_message"] is None
    assert before["completed_at"] is None
    assert after["status"] == "error"
    assert after["error_message"]
    assert before["created_at"] <= after["updated_at"] == after["completed_at"]


def test_letta_completed_with_error_stop_reason_like_the_real_server(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "completed-with-error")
    mock.advance(5)
    _, body = clients.read(mock.client, "letta", run)
    assert (body["status"], body["stop_reason"]) == ("completed", "llm_api_error")


def test_letta_failed_run_has_stop_reason_and_metadata_error(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "failed")
    mock.advance(5)
    _, body = clients.read(mock.client, "letta", run)
    assert (body["status"], body["stop_reason"]) == ("failed", "error")
    assert body["metadata"]["error"]
    assert body["metadata"]["run_type"] == "send_message_async"


def test_invent_failure_sets_error_only_when_failed(mock: Mock) -> None:
    message = clients.create(mock.client, "invent", "failed")
    _, running = clients.read(mock.client, "invent", message)
    mock.advance(5)
    _, failed = clients.read(mock.client, "invent", message)
    assert "error" not in running
    assert failed["status"] == "FAILED"
    assert failed["error"]


@pytest.mark.parametrize("api", ["privategpt", "letta"])
def test_cancel_in_flight_then_cancel_again(mock: Mock, api: str) -> None:
    resource_id = clients.create(mock.client, api, "slow")
    mock.advance(1)
    first = clients.cancel(mock.client, api, resource_id)
    assert first.status_code == 200, first.text
    assert clients.state(mock.client, api, resource_id) == "cancelled"
    mock.advance(3600)
    assert clients.state(mock.client, api, resource_id) == "cancelled"  # stays cancelled
    again = clients.cancel(mock.client, api, resource_id)
    assert again.status_code == 200  # the vendors' no-op answer on a finished resource
    assert again.json() == first.json()


@pytest.mark.parametrize("api", ["privategpt", "letta"])
def test_cancel_after_completion_changes_nothing(mock: Mock, api: str) -> None:
    resource_id = clients.create(mock.client, api, "happy")
    mock.advance(10)
    assert clients.cancel(mock.client, api, resource_id).status_code == 200
    assert clients.state(mock.client, api, resource_id) == "completed"


def test_letta_cancel_shape_and_409_without_active_runs(mock: Mock) -> None:
    run = clients.create(mock.client, "letta", "slow")
    response = clients.cancel(mock.client, "letta", run)
    assert response.json() == {run: "cancelled"}
    none_active = mock.client.post(
        f"/v1/agents/{AGENT}/messages/cancel", json={}, headers=clients.headers("letta")
    )
    assert none_active.status_code == 409
    assert "No active runs" in none_active.json()["detail"]


@pytest.mark.parametrize("api", ["privategpt", "letta"])
def test_delete_then_reads_404_and_second_delete_404(mock: Mock, api: str) -> None:
    resource_id = clients.create(mock.client, api)
    response = clients.delete(mock.client, api, resource_id)
    assert response.status_code == 200, response.text
    status, body = clients.read(mock.client, api, resource_id)
    assert status == 404
    assert resource_id in body["detail"]
    assert clients.delete(mock.client, api, resource_id).status_code == 404


def test_privategpt_delete_answers_null_like_the_real_server(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt")
    response = clients.delete(mock.client, "privategpt", message)
    assert response.content == b"null"


def test_deleting_an_in_flight_privategpt_message_cancels_it_first(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "slow")
    history = mock.resource("privategpt", message)
    assert history["state"] == "pending"
    clients.delete(mock.client, "privategpt", message)
    assert mock.client.get(f"/__mock/resources/privategpt/{message}").status_code == 404


def test_timestamps_are_consistent_through_the_lifecycle(mock: Mock) -> None:
    message = clients.create(mock.client, "privategpt", "happy")
    bodies = []
    for seconds in (0, 1, 2, 5):
        mock.advance(seconds)
        bodies.append(clients.read(mock.client, "privategpt", message)[1])
    for body in bodies:
        assert body["created_at"] <= body["updated_at"]
        assert (body["completed_at"] is not None) == (body["status"] == "completed")
        if body["completed_at"]:
            assert body["updated_at"] <= body["completed_at"]
    assert bodies[-1]["completed_at"] == "2025-06-15T15:06:43.000000Z"  # exactly 1 s + 2 s after creation


def test_invent_edit_changes_the_content_and_keeps_the_lifecycle(mock: Mock) -> None:
    message = clients.create(mock.client, "invent", "slow")
    edit = {"message": [{"type": "text", "text": "Rephrased question"}]}
    edited = mock.client.patch(
        f"/chats/chat-1/messages/{message}", json=edit, headers=clients.headers("invent")
    )
    assert edited.status_code == 200, edited.text
    _, read = clients.read(mock.client, "invent", message)
    for body in (edited.json(), read):
        assert body["messages"] == [{"role": "user", "parts": edit["message"]}]
        assert body["status"] == "RUNNING"


def bundled_scenarios() -> list[tuple[str, str, list[str], bool]]:
    catalog = load_catalog(bundled_specs(), bundled_dir("scenarios"))
    return [
        (api, name, [step.state for step in scenario.steps], any(step.fault for step in scenario.steps))
        for api, served in sorted(catalog.items())
        for name, scenario in sorted(served.scenarios.items())
    ]


BUNDLED = bundled_scenarios()


@pytest.mark.parametrize(
    ("api", "scenario", "states", "faulty"), BUNDLED, ids=[f"{api}-{name}" for api, name, _, _ in BUNDLED]
)
def test_every_bundled_scenario_shows_each_of_its_steps(
    mock: Mock, api: str, scenario: str, states: list[str], faulty: bool
) -> None:
    def current() -> str:
        if faulty:  # its faults may fail the status endpoint on purpose: ask the admin API
            return str(mock.resource(api, resource_id)["state"])
        return clients.state(mock.client, api, resource_id)

    resource_id = clients.create(mock.client, api, scenario)
    seen = [current()]
    for _ in states[1:]:
        mock.client.post(f"/__mock/resources/{api}/{resource_id}/next", json={})
        seen.append(current())
    assert seen == states

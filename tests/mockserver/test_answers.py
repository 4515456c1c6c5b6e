"""A handler returns the resource it touched with its response, and the journal names it (issue 20)."""

from __future__ import annotations

import pytest

from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH, Mock

APIS = ["privategpt", "letta", "invent", "chatzy"]


@pytest.mark.parametrize("api", APIS)
def test_create_read_cancel_and_delete_name_their_resource(mock: Mock, api: str) -> None:
    made = clients.create(mock.client, api, "slow" if api != "chatzy" else None)
    clients.read(mock.client, api, made)
    clients.cancel(mock.client, api, made)
    if api != "chatzy":  # Chatzy has no delete
        clients.delete(mock.client, api, made)
    touched = [
        (e["operation"], e["resource_id"]) for e in mock.journal() if e["api"] == api and e["status"] < 300
    ]
    assert touched
    assert all(resource == made for operation, resource in touched if operation not in NO_RESOURCE), touched


NO_RESOURCE = {"initConversation"}  # opens a conversation: no resource yet


def test_answers_that_touch_no_resource_name_none(mock: Mock) -> None:
    run = clients.create(mock.client, "letta")
    mock.client.get("/v1/runs/not-a-run", headers=AUTH["letta"])  # 404: nothing touched
    mock.client.get("/v1/runs/", headers=AUTH["letta"])  # a list touches many, names none
    cancelled = mock.client.post(f"/v1/agents/{AGENT}/messages/cancel", json={}, headers=AUTH["letta"])
    assert cancelled.status_code == 200, cancelled.text
    entries = mock.journal()[1:]
    assert [(e["operation"], e["resource_id"]) for e in entries] == [
        ("retrieveRun", None),
        ("listRuns", None),
        ("cancelAgentRun", run),  # the run it cancelled
    ]

"""Creating resources on a test mock, for the dashboard's tests."""

from __future__ import annotations

from comeback.testing import MockServer

AUTH = {
    "privategpt": {"Authorization": "secret"},
    "letta": {"Authorization": "Bearer any"},
    "invent": {"Authorization": "Bearer any"},
}
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"


def create_message(mock: MockServer, scenario: str | None = None, message_id: str | None = None) -> str:
    """Create a PrivateGPT async message; returns its id."""
    headers = {**AUTH["privategpt"], **({"X-Mock-Scenario": scenario} if scenario else {})}
    body = {"model": "default", "max_tokens": 256, "messages": [{"role": "user", "content": "Hello"}]}
    params = {"message_id": message_id} if message_id else {}
    response = mock.client.post("/v1/messages/async", json=body, headers=headers, params=params)
    assert response.status_code == 200, response.text
    return str(response.json()["message_id"])


CLOSED_PORT = "http://127.0.0.1:9/hook"  # the discard port: nothing listens, a callback there fails


def create_run(mock: MockServer, scenario: str | None = None, callback_url: str | None = None) -> str:
    """Create a Letta async run; returns its id."""
    headers = {**AUTH["letta"], **({"X-Mock-Scenario": scenario} if scenario else {})}
    body: dict[str, object] = {"messages": [{"role": "user", "content": "Hi"}]}
    if callback_url is not None:
        body["callback_url"] = callback_url
    response = mock.client.post(f"/v1/agents/{AGENT}/messages/async", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])

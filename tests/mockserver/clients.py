"""Minimal vendor clients for the tests: create, read the state, cancel, delete, as a client would."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.mockserver.conftest import AGENT, AUTH, CHATBOT


def headers(api: str, scenario: str | None = None) -> dict[str, str]:
    return {**AUTH[api], **({"X-Mock-Scenario": scenario} if scenario else {})}


def create(client: TestClient, api: str, scenario: str | None = None, text: str = "hello") -> str:
    """Create one resource and return its id (Chatzy: open a conversation first)."""
    if api == "privategpt":
        body = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": text}]}
        response = client.post("/v1/messages/async", json=body, headers=headers(api, scenario))
        assert response.status_code == 200, response.text
        return str(response.json()["message_id"])
    if api == "letta":
        body = {"messages": [{"role": "user", "content": text}]}
        response = client.post(
            f"/v1/agents/{AGENT}/messages/async", json=body, headers=headers(api, scenario)
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])
    if api == "invent":
        body = {"message": [{"type": "text", "text": text}]}
        response = client.post("/chats/chat-1/messages", json=body, headers=headers(api, scenario))
        assert response.status_code == 200, response.text
        return str(response.json()["id"])
    conversation = client.get("/init_conversation", params={"chatbot_id": CHATBOT}).json()["data"][
        "conversation_id"
    ]
    body = {
        "chatbot_id": CHATBOT,
        "conversation_id": conversation,
        "messages": {"role": "user", "content": text},
    }
    response = client.post("/get_inference", json=body, headers=headers(api, scenario))
    assert response.status_code == 200, response.text
    return str(conversation)


def read(client: TestClient, api: str, resource_id: str) -> tuple[int, Any]:
    """(HTTP status, body) of the status read a polling client makes."""
    if api == "privategpt":
        response = client.get(f"/v1/messages/async/{resource_id}/status", headers=headers(api))
    elif api == "letta":
        response = client.get(f"/v1/runs/{resource_id}", headers=headers(api))
    elif api == "invent":
        response = client.get(f"/chats/chat-1/messages/{resource_id}", headers=headers(api))
    else:
        response = client.get("/get_stream_status", params={"conversation_id": resource_id})
    return response.status_code, response.json()


def state(client: TestClient, api: str, resource_id: str) -> str:
    """The state the status endpoint shows, in the lifecycle's words."""
    status, body = read(client, api, resource_id)
    assert status == 200, body
    if api == "chatzy":
        return {
            ("is_streaming", None): "queued",
            ("is_streaming", "processing"): "processing",
            ("completed", "completed"): "completed",
        }[(body["data"]["stream_status"], body["data"]["response_processing_status"])]
    value = body["status"]
    return str(value).lower()


def cancel(client: TestClient, api: str, resource_id: str) -> Any:
    if api == "privategpt":
        return client.post(f"/v1/messages/async/{resource_id}/cancel", headers=headers(api))
    return client.post(
        f"/v1/agents/{AGENT}/messages/cancel", json={"run_ids": [resource_id]}, headers=headers(api)
    )


def delete(client: TestClient, api: str, resource_id: str) -> Any:
    if api == "privategpt":
        return client.delete(f"/v1/messages/async/{resource_id}/delete", headers=headers(api))
    return client.delete(f"/v1/runs/{resource_id}", headers=headers(api))

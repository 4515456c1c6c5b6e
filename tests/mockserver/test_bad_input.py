"""Bad requests get the vendor's own error shape and status, never a 500 or a silent success."""

from __future__ import annotations

import pytest

from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH, Mock

PGPT = "/v1/messages/async"
VALID_PGPT = {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


def test_privategpt_malformed_json_is_a_400_envelope(mock: Mock) -> None:
    response = mock.client.post(
        PGPT, content=b"{not json", headers={**AUTH["privategpt"], "content-type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert body["detail"][0]["type"] == "json_invalid"
    assert "JSON decode error" in body["detail"][0]["msg"]


def test_privategpt_wrong_types_name_the_field(mock: Mock) -> None:
    body = {**VALID_PGPT, "max_tokens": "many", "messages": "hi"}
    response = mock.client.post(PGPT, json=body, headers=AUTH["privategpt"])
    assert response.status_code == 400
    locations = [tuple(item["loc"]) for item in response.json()["detail"]]
    assert ("body", "max_tokens") in locations
    assert ("body", "messages") in locations


def test_privategpt_wrong_content_type(mock: Mock) -> None:
    response = mock.client.post(
        PGPT, content=b"model=x", headers={**AUTH["privategpt"], "content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert "application/json" in response.json()["detail"][0]["msg"]


def test_oversized_body_is_refused_before_it_is_read(mock: Mock) -> None:
    huge = {**VALID_PGPT, "messages": [{"role": "user", "content": "x" * 2_000_000}]}
    response = mock.client.post(PGPT, json=huge, headers=AUTH["privategpt"])
    assert response.status_code == 400
    assert "larger than 1048576 bytes" in response.json()["detail"][0]["msg"]


def test_privategpt_duplicate_caller_chosen_id_is_refused(mock: Mock) -> None:
    first = mock.client.post(
        PGPT, params={"message_id": "my-id"}, json=VALID_PGPT, headers=AUTH["privategpt"]
    )
    assert first.status_code == 200
    assert first.json()["message_id"] == "my-id"
    again = mock.client.post(
        PGPT, params={"message_id": "my-id"}, json=VALID_PGPT, headers=AUTH["privategpt"]
    )
    assert again.status_code == 400
    assert again.json()["detail"] == "Stream with message_id my-id already exists"


@pytest.mark.parametrize(
    ("api", "path", "status", "detail"),
    [
        (
            "privategpt",
            "/v1/messages/async/nope/status",
            404,
            {"detail": "Stream with message_id nope not found"},
        ),
        (
            "letta",
            "/v1/runs/run-00000000-0000-4000-8000-000000000000",
            404,
            {"detail": "Run not found with id=run-00000000-0000-4000-8000-000000000000"},
        ),
        (
            "letta",
            "/v1/runs/not-a-run",
            400,
            {"detail": "INVALID_ARGUMENT: Invalid run ID format: not-a-run. Expected format: 'run-<uuid4>'"},
        ),
        (
            "invent",
            "/chats/c/messages/nope",
            404,
            {"statusCode": 404, "message": "Message nope not found", "error": "Not Found"},
        ),
    ],
)
def test_unknown_ids_get_the_vendor_404(
    mock: Mock, api: str, path: str, status: int, detail: dict[str, object]
) -> None:
    response = mock.client.get(path, headers=AUTH[api])
    assert (response.status_code, response.json()) == (status, detail)


def test_chatzy_unknown_conversation(mock: Mock) -> None:
    response = mock.client.get(
        "/get_stream_status", params={"conversation_id": "96333140-53c3-4d1d-bbd1-edd150d46ea2"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "conversation_not_found"


def test_letta_422_has_the_real_servers_shape(mock: Mock) -> None:
    response = mock.client.post(
        "/v1/agents/agent-nope/messages/async", json={"messages": []}, headers=AUTH["letta"]
    )
    assert response.status_code == 422
    body = response.json()
    assert body["trace_id"] == ""
    assert isinstance(body["detail"], str)
    assert body["examples"] == ["agent-123e4567-e89b-42d3-8456-426614174000"]


def test_letta_body_of_the_wrong_type(mock: Mock) -> None:
    response = mock.client.post(
        f"/v1/agents/{AGENT}/messages/async", json={"messages": "hi"}, headers=AUTH["letta"]
    )
    assert response.status_code == 422
    assert "messages" in response.json()["detail"]


def test_invent_empty_message_is_400(mock: Mock) -> None:
    response = mock.client.post("/chats/c/messages", json={"message": []}, headers=AUTH["invent"])
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"
    assert any("message" in text for text in response.json()["message"])


def test_chatzy_missing_parameter(mock: Mock) -> None:
    response = mock.client.get("/init_conversation")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_request",
        "message": "query.chatbot_id: Field required",
    }


def test_unknown_scenario_lists_the_known_ones_in_the_vendor_shape(mock: Mock) -> None:
    response = mock.client.post(
        PGPT, json=VALID_PGPT, headers={**AUTH["privategpt"], "X-Mock-Scenario": "hapy"}
    )
    assert response.status_code == 400
    explanation = response.json()["detail"]
    assert "unknown scenario 'hapy' for privategpt" in explanation
    assert "happy" in explanation
    assert "never-finishes" in explanation


def test_unknown_path_is_a_problem_listing_operations(mock: Mock) -> None:
    response = mock.client.get("/v2/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "GET /v1/runs/{run_id}" in response.json()["operations"]


@pytest.mark.parametrize(
    ("api", "method", "path", "body"),
    [
        ("privategpt", "POST", PGPT, VALID_PGPT),
        ("letta", "GET", "/v1/runs/", None),
        ("invent", "GET", "/chats/c/messages", None),
    ],
)
def test_missing_credentials_get_the_vendor_401(
    mock: Mock, api: str, method: str, path: str, body: object
) -> None:
    response = mock.client.request(method, path, json=body)
    assert response.status_code == 401
    expected = {"privategpt": {"detail": "Not authenticated"}, "letta": {"detail": "Unauthorized"}}
    if api in expected:
        assert response.json() == expected[api]
    else:
        assert response.json()["statusCode"] == 401
    if api == "privategpt":
        assert response.headers["www-authenticate"].startswith("Basic realm=")


def test_every_bad_request_was_journaled_and_none_was_a_500(mock: Mock) -> None:
    mock.client.post(PGPT, content=b"[", headers={**AUTH["privategpt"], "content-type": "application/json"})
    mock.client.get("/v1/runs/x", headers=AUTH["letta"])
    clients.read(mock.client, "invent", "missing")
    statuses = [entry["status"] for entry in mock.journal()]
    assert statuses == [400, 400, 404]

"""Request bodies the real servers accept are accepted, as the vendors' published specs describe
them (issue 11, item 4); what those specs refuse is refused in the vendor's error shape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import create_app
from tests.mockserver.conftest import AGENT, AUTH, Mock, settings


@pytest.fixture(scope="module")
def mock() -> Iterator[Mock]:
    """One strict mock for the module: these tests only create resources, each its own."""
    with TestClient(create_app(settings())) as client:
        yield Mock(client)


IMAGE_SOURCES = [
    {"type": "url", "url": "https://example.com/cat.png"},
    {"url": "https://example.com/cat.png"},  # type has a default
    {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
    {"type": "letta", "file_id": "file-123"},
]
INPUT_PARTS: list[dict[str, Any]] = [
    {"type": "text", "text": "Look at this"},
    *({"type": "image", "source": source} for source in IMAGE_SOURCES),
    {"type": "tool_call", "id": "call_1", "name": "lookup", "input": {"q": "x"}},
    {"type": "tool_return", "tool_call_id": "call_1", "content": "42", "is_error": False},
    {"type": "reasoning", "is_native": True, "reasoning": "Thinking it over."},
    {"type": "redacted_reasoning", "data": "opaque"},
    {"type": "omitted_reasoning"},
    {"type": "summarized_reasoning", "id": "rs_1", "summary": [{"index": 0, "text": "In short."}]},
]
TOOL_RETURN = {"tool_return": "42", "status": "success", "tool_call_id": "call_1"}


def send(mock: Mock, body: dict[str, Any]) -> Any:
    return mock.client.post(f"/v1/agents/{AGENT}/messages/async", json=body, headers=AUTH["letta"])


@pytest.mark.parametrize(
    "part", INPUT_PARTS, ids=[str(p.get("type")) + str(i) for i, p in enumerate(INPUT_PARTS)]
)
def test_letta_accepts_every_content_type_in_input(mock: Mock, part: dict[str, Any]) -> None:
    response = send(mock, {"input": [part]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "message",
    [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "reasoning", "is_native": False, "reasoning": "r"},
            ],
        },
        {"type": "approval", "approvals": [{"type": "approval", "tool_call_id": "call_1", "approve": True}]},
        {"approvals": [{"type": "tool", **TOOL_RETURN}]},  # type has a default
        {"type": "tool_return", "tool_returns": [TOOL_RETURN]},
        {"tool_returns": [TOOL_RETURN]},
    ],
    ids=["message-with-reasoning", "approval", "approval-untyped", "tool-return", "tool-return-untyped"],
)
def test_letta_accepts_every_message_variant(mock: Mock, message: dict[str, Any]) -> None:
    response = send(mock, {"messages": [message]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"input": [{"type": "image", "source": {"type": "url"}}]},  # a url image needs its url
        {"input": [{"type": "image", "source": {"type": "base64", "data": "x"}}]},  # and media_type
        {"input": [{"type": "tool_call", "name": "lookup"}]},  # id and input are required
        {"messages": [{"type": "tool_return", "tool_returns": [{"tool_return": "42"}]}]},
    ],
    ids=["url-without-url", "base64-without-media-type", "tool-call-without-id", "tool-return-incomplete"],
)
def test_letta_refuses_what_the_published_spec_refuses(mock: Mock, body: dict[str, Any]) -> None:
    response = send(mock, body)
    assert response.status_code == 422, response.text
    assert set(response.json()) >= {"detail"}


def test_privategpt_accepts_tool_context(mock: Mock) -> None:
    body = {
        "model": "default",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [
            {
                "name": "search",
                "context": [{"type": "uri", "uri": "https://example.com"}, {"type": "text", "text": "x"}],
            }
        ],
        "tool_context": [{"uri": "https://example.com"}],
    }
    response = mock.client.post("/v1/messages/async", json=body, headers=AUTH["privategpt"])
    assert response.status_code == 200, response.text

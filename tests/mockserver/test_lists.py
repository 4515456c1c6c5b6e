"""List endpoints page and filter as the vendors document."""

from __future__ import annotations

import base64
import json
from typing import Any

from comeback.testing import bundled_catalog
from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH, CHATBOT, Mock

OTHER_AGENT = "agent-00000000-0000-4000-8000-000000000000"


def letta_runs(mock: Mock, **query: str | int | list[str]) -> list[dict[str, object]]:
    response = mock.client.get("/v1/runs/", params=query, headers=AUTH["letta"])
    assert response.status_code == 200, response.text
    runs: list[dict[str, object]] = response.json()
    return runs


def test_letta_list_pages_with_the_after_cursor_until_empty(mock: Mock) -> None:
    created = []
    for _ in range(3):
        created.append(clients.create(mock.client, "letta"))
        mock.advance(1)  # distinct creation times
    first = letta_runs(mock, agent_id=AGENT, order="asc", limit=2)
    assert [r["id"] for r in first] == created[:2]
    second = letta_runs(mock, agent_id=AGENT, order="asc", limit=2, after=created[1])
    assert [r["id"] for r in second] == created[2:]
    assert (
        letta_runs(mock, agent_id=AGENT, order="asc", limit=2, after=created[2]) == []
    )  # the SDK stops here
    assert [r["id"] for r in letta_runs(mock, agent_id=AGENT)] == created[::-1]  # default: newest first


def test_letta_list_filters(mock: Mock) -> None:
    done = clients.create(mock.client, "letta", "happy")
    running = clients.create(mock.client, "letta", "never-finishes")
    body = {"messages": [{"role": "user", "content": "hi"}]}
    other = mock.client.post(
        f"/v1/agents/{OTHER_AGENT}/messages/async", json=body, headers=AUTH["letta"]
    ).json()["id"]
    mock.advance(5)
    assert {r["id"] for r in letta_runs(mock, agent_id=AGENT)} == {done, running}
    assert [r["id"] for r in letta_runs(mock, statuses=["completed"], agent_id=AGENT)] == [done]
    assert {r["id"] for r in letta_runs(mock, active="true")} == {running}
    assert [r["id"] for r in letta_runs(mock, agent_id=OTHER_AGENT)] == [other]
    assert [r["id"] for r in letta_runs(mock, stop_reason="end_turn", agent_id=AGENT)] == [done]


def test_invent_list_pages_with_headers(mock: Mock) -> None:
    created = [clients.create(mock.client, "invent") for _ in range(3)]
    response = mock.client.get(
        "/chats/chat-1/messages", params={"page": 2, "take": 2}, headers=AUTH["invent"]
    )
    assert [m["id"] for m in response.json()] == created[2:]
    assert (
        response.headers["pagination-count"],
        response.headers["pagination-page"],
        response.headers["pagination-take"],
    ) == ("3", "2", "2")
    other_chat = mock.client.get("/chats/chat-2/messages", headers=AUTH["invent"])
    assert other_chat.json() == []


def test_chatzy_messages_page_newest_first(mock: Mock) -> None:
    conversation = clients.create(mock.client, "chatzy", "happy", text="first")
    mock.advance(5)
    page = mock.client.get(
        "/get_messages_for_conversation", params={"conversation_id": conversation, "limit": 1}
    ).json()["data"]
    assert (page["total"], page["has_more"], page["messages"][0]["role"]) == (2, True, "assistant")
    older = mock.client.get(
        "/get_messages_for_conversation", params={"conversation_id": conversation, "offset": 1}
    ).json()["data"]
    assert [m["content"] for m in older["messages"]] == ["first"]


# -- every list endpoint pages over its real items, so an auto-paginating client ends (issue 11) ----

PAGING_PARAMETERS = {"after", "before", "limit", "offset", "page", "take", "next"}


def _walk(fetch: Any, first: dict[str, Any], cursor_of: Any) -> list[list[Any]]:
    """Pages an auto-paginating client would read: ``fetch(params)`` -> items, next params from
    ``cursor_of(params, items)``; stops at an empty page (a loop here is the bug under test)."""
    pages: list[list[Any]] = []
    params = first
    for _ in range(20):
        items = fetch(params)
        if not items:
            return pages
        pages.append(items)
        params = cursor_of(params, items)
    raise AssertionError(f"no end after 20 pages: {pages[-2:]}")


def _letta_fetch(mock: Mock, path: str) -> Any:
    def fetch(params: dict[str, Any]) -> list[Any]:
        response = mock.client.get(path, params=params, headers=AUTH["letta"])
        assert response.status_code == 200, response.text
        return list(response.json())

    return fetch


def _after_last(params: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    return {**params, "after": items[-1]["id"]}


def _before_first(params: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    return {**params, "before": items[0]["id"]}


def _two_turns(mock: Mock) -> str:
    conversation = clients.create(mock.client, "chatzy", text="first")
    mock.advance(10)
    body = {
        "chatbot_id": CHATBOT,
        "conversation_id": conversation,
        "messages": {"role": "user", "content": "second"},
    }
    assert mock.client.post("/get_inference", json=body).status_code == 200
    mock.advance(10)
    return conversation


def test_every_list_endpoint_pages_to_an_end_without_repeating_a_page(mock: Mock) -> None:
    runs = []
    for _ in range(3):
        runs.append(clients.create(mock.client, "letta", "with-running"))
        mock.advance(1)
    for _ in range(3):
        clients.create(mock.client, "invent")
    conversation = _two_turns(mock)
    mock.advance(10)
    run = runs[0]

    def invent_fetch(params: dict[str, Any]) -> list[Any]:
        response = mock.client.get("/chats/chat-1/messages", params=params, headers=AUTH["invent"])
        return list(response.json())

    def chatzy_fetch(params: dict[str, Any]) -> list[Any]:
        query = {"conversation_id": conversation, **params}
        return list(
            mock.client.get("/get_messages_for_conversation", params=query).json()["data"]["messages"]
        )

    def next_token(params: dict[str, Any], items: list[Any]) -> dict[str, Any]:
        page = json.loads(base64.urlsafe_b64decode(params.get("next", "eyJwYWdlIjoxfQ") + "==")).get("page")
        token = base64.urlsafe_b64encode(json.dumps({"page": page + 1}).encode()).decode().rstrip("=")
        return {**params, "next": token}

    walks: dict[str, list[tuple[Any, dict[str, Any], Any, int]]] = {
        "listRuns": [
            (_letta_fetch(mock, "/v1/runs/"), {"limit": 1, "agent_id": AGENT}, _after_last, 3),
            (_letta_fetch(mock, "/v1/runs/"), {"limit": 1, "order": "asc"}, _after_last, 3),
            (_letta_fetch(mock, "/v1/runs/"), {"limit": 1, "before": runs[0]}, _before_first, 2),
        ],
        "listMessagesForRun": [
            (_letta_fetch(mock, f"/v1/runs/{run}/messages"), {"limit": 1}, _after_last, 2),
            (_letta_fetch(mock, f"/v1/runs/{run}/messages"), {"limit": 1, "order": "desc"}, _after_last, 2),
        ],
        "listStepsForRun": [(_letta_fetch(mock, f"/v1/runs/{run}/steps"), {"limit": 1}, _after_last, 1)],
        "listChatMessages": [
            (invent_fetch, {"take": 1}, lambda p, _: {**p, "page": p.get("page", 1) + 1}, 3),
            (invent_fetch, {"take": 1}, next_token, 3),
        ],
        "getMessagesForConversation": [
            (chatzy_fetch, {"limit": 1}, lambda p, _: {**p, "offset": p.get("offset", 0) + 1}, 4)
        ],
    }
    for operation, cases in walks.items():
        for fetch, first, cursor_of, total in cases:
            pages = _walk(fetch, first, cursor_of)
            seen = [json.dumps(page, sort_keys=True) for page in pages]
            assert len(set(seen)) == len(seen), f"{operation} repeated a page for another cursor"
            ids = [item.get("id") or item.get("message_id") for page in pages for item in page]
            assert len(ids) == len(set(ids)) == total, (operation, first, ids)

    listed = {
        operation.operation_id
        for api in ("letta", "invent", "chatzy", "privategpt")
        for operation in bundled_catalog()[api].spec.operations.values()
        if any(p.get("name") in PAGING_PARAMETERS for p in operation.parameters)
    }
    assert listed == set(walks)  # a new paging endpoint needs a walk here


def test_letta_unknown_cursors_end_the_listing_and_pages_differ_per_cursor(mock: Mock) -> None:
    run = clients.create(mock.client, "letta")
    mock.advance(5)
    fetch = _letta_fetch(mock, f"/v1/runs/{run}/messages")
    user, assistant = fetch({})
    assert fetch({"after": user["id"]}) == [assistant]
    assert fetch({"before": assistant["id"]}) == [user]
    assert fetch({"after": "message-00000000-0000-4000-8000-000000000000"}) == []


def test_invent_from_date_and_unreadable_next_token(mock: Mock) -> None:
    early = clients.create(mock.client, "invent")
    mock.advance(60)
    late = clients.create(mock.client, "invent")
    response = mock.client.get(
        "/chats/chat-1/messages", params={"from_date": "2025-06-15T15:07:00Z"}, headers=AUTH["invent"]
    )
    assert [m["id"] for m in response.json()] == [late]
    assert early != late
    response = mock.client.get("/chats/chat-1/messages", params={"next": "???"}, headers=AUTH["invent"])
    assert response.json() == []


def test_letta_agent_ids_and_conversation_filters(mock: Mock) -> None:
    mine = clients.create(mock.client, "letta")
    body = {"messages": [{"role": "user", "content": "hi"}]}
    other = mock.client.post(
        f"/v1/agents/{OTHER_AGENT}/messages/async", json=body, headers=AUTH["letta"]
    ).json()["id"]
    assert {r["id"] for r in letta_runs(mock, agent_ids=[AGENT, OTHER_AGENT])} == {mine, other}
    assert [r["id"] for r in letta_runs(mock, agent_ids=[OTHER_AGENT])] == [other]
    assert letta_runs(mock, conversation_id="conv-00000000-0000-4000-8000-000000000000") == []

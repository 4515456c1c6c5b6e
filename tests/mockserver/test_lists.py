"""List endpoints page and filter as the vendors document."""

from __future__ import annotations

from tests.mockserver import clients
from tests.mockserver.conftest import AGENT, AUTH, Mock

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

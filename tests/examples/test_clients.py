"""Example tests a QA engineer would write with the plugin: a client under test, each unhappy path.

The "clients" here are the few lines a frontend or backend would have: poll until done, show a
failure, cancel, give up after a number of polls. The mock runs in-process on a manual clock, so the
tests never sleep: the client's wait between polls advances the clock instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from comeback.testing import MockServer

AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
CHATBOT = "96333140-53c3-4d1d-bbd1-edd150d46ea2"
PGPT = {"Authorization": "secret"}
BEARER = {"Authorization": "Bearer key"}


class GaveUp(Exception):
    """The client stopped polling before the work finished."""


def poll(
    read: Callable[[], dict[str, Any]],
    done: Callable[[dict[str, Any]], bool],
    wait: Callable[[], None],
    max_polls: int,
) -> dict[str, Any]:
    """A client's polling loop: read, stop when done, else wait and try again, up to ``max_polls``."""
    for _ in range(max_polls):
        body = read()
        if done(body):
            return body
        wait()
    raise GaveUp(f"gave up after {max_polls} polls")


# -- PrivateGPT -------------------------------------------------------------------------------------
def privategpt_ask(mock: MockServer, max_polls: int = 10) -> dict[str, Any]:
    body = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    message = mock.client.post("/v1/messages/async", json=body, headers=PGPT).json()["message_id"]
    return poll(
        lambda: mock.client.get(f"/v1/messages/async/{message}/status", headers=PGPT).json(),
        lambda status: status["status"] in ("completed", "error", "failed", "cancelled"),
        lambda: mock.advance(1),  # the client waits a second between polls
        max_polls,
    )


def test_privategpt_client_polls_until_done(comeback_mock: MockServer) -> None:
    assert privategpt_ask(comeback_mock)["status"] == "completed"
    comeback_mock.journal.assert_count("getAsyncMessageStatus", 4)  # pending, processing x2, completed


def test_privategpt_client_shows_the_failure(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("privategpt", "error")
    status = privategpt_ask(comeback_mock)
    assert status["status"] == "error"
    assert "Ollama" in status["error_message"]


def test_privategpt_client_cancels(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("privategpt", "slow")
    body = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    message = comeback_mock.client.post("/v1/messages/async", json=body, headers=PGPT).json()["message_id"]
    comeback_mock.advance(6)
    cancelled = comeback_mock.client.post(f"/v1/messages/async/{message}/cancel", headers=PGPT)
    assert cancelled.json() == {"message": "Stream cancelled successfully", "message_id": message}
    assert comeback_mock.state("privategpt", message) == "cancelled"


def test_privategpt_client_gives_up_on_a_message_that_never_finishes(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("privategpt", "never-finishes")
    with pytest.raises(GaveUp):
        privategpt_ask(comeback_mock, max_polls=10)
    comeback_mock.journal.assert_count("getAsyncMessageStatus", 10)


# -- Letta ------------------------------------------------------------------------------------------
def letta_run(client: httpx.Client, wait: Callable[[], None], max_polls: int = 10) -> dict[str, Any]:
    run = client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "Hi"}, headers=BEARER).json()
    return poll(
        lambda: client.get(f"/v1/runs/{run['id']}", headers=BEARER).json(),
        lambda body: body["status"] in ("completed", "failed", "cancelled"),
        wait,
        max_polls,
    )


def letta_outcome(run: dict[str, Any]) -> str:
    """What the UI shows: a run 'completed' with an error stop reason is a failure (apis.md L-A3)."""
    failed = run["status"] == "failed" or run["stop_reason"] not in (
        "end_turn",
        "max_steps",
        "tool_rule",
        "requires_approval",
    )
    return "failure" if failed else "success"


def test_letta_client_polls_until_done(comeback_mock: MockServer) -> None:
    run = letta_run(comeback_mock.client, lambda: comeback_mock.advance(1))
    assert (run["status"], letta_outcome(run)) == ("completed", "success")


@pytest.mark.parametrize("scenario", ["failed", "completed-with-error"])
def test_letta_client_shows_the_failure_both_ways_the_server_reports_it(
    comeback_mock: MockServer, scenario: str
) -> None:
    comeback_mock.next_scenario("letta", scenario)
    run = letta_run(comeback_mock.client, lambda: comeback_mock.advance(1))
    assert letta_outcome(run) == "failure"


def test_letta_client_cancels(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("letta", "slow")
    run = comeback_mock.client.post(
        f"/v1/agents/{AGENT}/messages/async", json={"input": "Hi"}, headers=BEARER
    ).json()
    answer = comeback_mock.client.post(
        f"/v1/agents/{AGENT}/messages/cancel", json={"run_ids": [run["id"]]}, headers=BEARER
    )
    assert answer.json() == {run["id"]: "cancelled"}
    assert (
        comeback_mock.client.get(f"/v1/runs/{run['id']}", headers=BEARER).json()["stop_reason"] == "cancelled"
    )


def test_letta_client_gives_up_and_polled_at_its_own_pace(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario(
        "letta", comeback_mock.scenario("letta", [{"state": "created"}], name="stuck")
    )
    with pytest.raises(GaveUp):
        letta_run(comeback_mock.client, lambda: comeback_mock.advance(2), max_polls=5)
    polls = comeback_mock.journal.of("retrieveRun")
    assert len(polls) == 5
    assert [b.time - a.time for a, b in itertools.pairwise(polls)] == [2.0] * 4  # every 2 s
    # the journal masks credentials but keeps the scheme word
    assert all(h["authorization"] == "Bearer ***" for h in comeback_mock.journal.headers("retrieveRun"))


@pytest.mark.comeback(apis=["letta"], port=True)
def test_letta_client_on_a_real_port_with_an_http_library(comeback_mock: MockServer) -> None:
    assert comeback_mock.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=comeback_mock.url) as client:  # what an SDK or a subprocess would do
        run = letta_run(client, lambda: comeback_mock.advance(1))
    assert run["status"] == "completed"
    comeback_mock.journal.assert_calls(["POST createAgentMessageAsync"] + ["GET retrieveRun"] * 3)


# -- Invent -----------------------------------------------------------------------------------------
def invent_send(mock: MockServer, max_polls: int = 10) -> dict[str, Any]:
    message = mock.client.post(
        "/chats/chat-1/messages", json={"message": [{"type": "text", "text": "Hi"}]}, headers=BEARER
    ).json()
    return poll(
        lambda: mock.client.get(f"/chats/chat-1/messages/{message['id']}", headers=BEARER).json(),
        lambda body: body["status"] != "RUNNING",
        lambda: mock.advance(1),
        max_polls,
    )


def test_invent_client_polls_until_done(comeback_mock: MockServer) -> None:
    assert invent_send(comeback_mock)["status"] == "COMPLETED"


def test_invent_client_shows_the_failure(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("invent", "failed")
    message = invent_send(comeback_mock)
    assert (message["status"], bool(message["error"])) == ("FAILED", True)


def test_invent_client_gives_up(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("invent", "never-finishes")
    with pytest.raises(GaveUp):
        invent_send(comeback_mock, max_polls=7)
    comeback_mock.journal.assert_count("getChatMessage", 7)
    # Invent documents no cancel: a client can only stop polling, which is what this test checks


# -- Chatzy -----------------------------------------------------------------------------------------
def chatzy_ask(mock: MockServer, max_polls: int = 10) -> list[dict[str, Any]]:
    """The documented flow: init, send, poll get_stream_status to Case 3, then read the messages."""
    conversation = mock.client.get("/init_conversation", params={"chatbot_id": CHATBOT}).json()["data"][
        "conversation_id"
    ]
    body = {
        "chatbot_id": CHATBOT,
        "conversation_id": conversation,
        "messages": {"role": "user", "content": "Hi"},
    }
    mock.client.post("/get_inference", json=body)
    poll(
        lambda: mock.client.get("/get_stream_status", params={"conversation_id": conversation}).json()[
            "data"
        ],
        lambda data: (
            (data["stream_status"], data["response_processing_status"]) == ("completed", "completed")
        ),
        lambda: mock.advance(1),
        max_polls,
    )
    messages: list[dict[str, Any]] = mock.client.get(
        "/get_messages_for_conversation", params={"conversation_id": conversation}
    ).json()["data"]["messages"]
    return messages


def test_chatzy_client_polls_until_case_3_then_shows_the_reply(comeback_mock: MockServer) -> None:
    messages = chatzy_ask(comeback_mock)
    assert [m["role"] for m in messages] == ["assistant", "user"]  # newest first
    comeback_mock.journal.assert_calls(
        ["GET initConversation", "POST getInference"]
        + ["GET getStreamStatus"] * 4
        + ["GET getMessagesForConversation"]
    )


def test_chatzy_client_gives_up_after_max_tries(comeback_mock: MockServer) -> None:
    comeback_mock.next_scenario("chatzy", "never-finishes")
    with pytest.raises(GaveUp):
        chatzy_ask(comeback_mock, max_polls=6)
    comeback_mock.journal.assert_count("getStreamStatus", 6)

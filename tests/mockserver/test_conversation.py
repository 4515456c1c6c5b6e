"""One conversation per resource: the reply the stream delivers is the reply every polled face shows,
mid-way and at the end, and token counts add up (issue 11, item 2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from comeback.testing import at_once
from mockserver.app import create_app
from mockserver.conversation import SYSTEM_PROMPT_TOKENS, count_tokens
from mockserver.servers import serve_in_thread as serve
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from tests.mockserver.conftest import AGENT, AUTH, CHATBOT, settings
from tests.mockserver.test_streams import Reader, run

QUESTION = "What did the support team close yesterday?"


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_app(settings())) as url:
        yield url


def _client(base: str, api: str) -> httpx.Client:
    return httpx.Client(base_url=base, headers=AUTH[api], timeout=10)


def _sse_data(text: str) -> list[tuple[str | None, str]]:
    """(event, data) of each frame of a complete SSE body."""
    frames = []
    for block in text.split("\n\n"):
        lines = block.strip().splitlines()
        if not lines:
            continue
        event = next((line[7:] for line in lines if line.startswith("event: ")), None)
        frames.append((event, "\n".join(line[6:] for line in lines if line.startswith("data: "))))
    return frames


def test_count_tokens_counts_words_and_punctuation() -> None:
    assert count_tokens("Hello, world!") == 4
    assert count_tokens("") == 0


def test_letta_stream_messages_steps_and_usage_show_one_conversation(base: str) -> None:
    with _client(base, "letta") as client:
        letta_faces(client)


def letta_faces(client: httpx.Client) -> None:
    created = client.post(
        f"/v1/agents/{AGENT}/messages/async",
        json={"input": QUESTION},
        headers={"X-Mock-Scenario": "with-running"},
    ).json()
    run_id = created["id"]
    client.post("/__mock/clock", json={"seconds": 2})  # halfway through running
    midway = client.get(f"/v1/runs/{run_id}/messages").json()
    client.post("/__mock/clock", json={"seconds": 5})
    frames = [data for _, data in _sse_data(client.post(f"/v1/runs/{run_id}/stream", json={}).text)]
    payloads = [json.loads(data) for data in frames if data != "[DONE]"]
    streamed = "".join(p["content"] for p in payloads if p["message_type"] == "assistant_message")
    messages = client.get(f"/v1/runs/{run_id}/messages").json()
    steps = client.get(f"/v1/runs/{run_id}/steps").json()
    usage = client.get(f"/v1/runs/{run_id}/usage").json()

    assert [m["message_type"] for m in messages] == ["user_message", "assistant_message"]
    assert messages[0]["content"] == QUESTION
    assert messages[1]["content"] == streamed.rstrip()
    assert streamed
    assert all(m["id"].startswith("message-") and m["run_id"] == run_id for m in messages)
    streamed_ids = {
        (p["id"], p["date"], p["otid"]) for p in payloads if p["message_type"] == "assistant_message"
    }
    stored = messages[1]
    assert streamed_ids == {
        (stored["id"], stored["date"], stored["otid"])
    }  # the stream's message is the stored one
    assert [m["message_type"] for m in midway] == ["user_message", "assistant_message"]
    assert streamed.startswith(midway[1]["content"])
    assert len(midway[1]["content"]) < len(streamed.rstrip())
    (step,) = steps
    assert messages[1]["step_id"] == step["id"]
    assert step["status"] == "success"
    stream_usage = next(p for p in payloads if p["message_type"] == "usage_statistics")
    expected = {
        "completion_tokens": count_tokens(streamed),
        "prompt_tokens": count_tokens(QUESTION) + SYSTEM_PROMPT_TOKENS,
    }
    expected["total_tokens"] = expected["completion_tokens"] + expected["prompt_tokens"]
    for face in (usage, step, stream_usage):
        assert {key: face[key] for key in expected} == expected


def test_privategpt_stream_and_status_show_one_conversation(base: str) -> None:
    with _client(base, "privategpt") as client:
        privategpt_faces(client)


def privategpt_faces(client: httpx.Client) -> None:
    body = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": QUESTION}]}
    message_id = client.post("/v1/messages/async", json=body).json()["message_id"]
    client.post("/__mock/clock", json={"seconds": 10})
    first = _sse_data(client.get(f"/v1/messages/async/{message_id}/stream").text)
    again = _sse_data(client.get(f"/v1/messages/async/{message_id}/stream").text)
    status = client.get(f"/v1/messages/async/{message_id}/status").json()
    events = [json.loads(data) for _, data in first]
    text = "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta")
    assert text
    assert first == again
    start = next(e for e in events if e["type"] == "message_start")
    delta = next(e for e in events if e["type"] == "message_delta")
    assert start["message"]["usage"]["input_tokens"] == count_tokens(QUESTION)
    assert delta["usage"]["output_tokens"] == count_tokens(text)
    assert (status["status"], status["metadata"]["message_count"]) == ("completed", 1)


def test_invent_message_faces_show_one_conversation() -> None:
    app = create_app(settings())
    with serve(app) as url:
        client = _client(url, "invent")
        parts = [{"type": "text", "text": QUESTION}]
        created = client.post("/chats/chat-9/messages", json={"message": parts}).json()
        assert [m["role"] for m in created["messages"]] == ["user"]  # no reply yet while RUNNING
        client.post("/__mock/clock", json={"seconds": 5})
        read = client.get(f"/chats/chat-9/messages/{created['id']}").json()
        (listed,) = client.get("/chats/chat-9/messages").json()
        (message,) = at_once(lambda: app.state.engine.resources("invent"), DEFAULT_NAMESPACE)
        reply = "".join(message.extra["reply_tokens"]).rstrip()
        client.close()
    for face in (read, listed):
        assert face["role"] == "assistant"
        assert face["status"] == "COMPLETED"
        assert face["messages"] == [
            {"role": "user", "parts": parts},
            {"role": "assistant", "parts": [{"type": "text", "text": reply}]},
        ]
        usage = face["usage"]
        assert usage["input_tokens"] + usage["output_tokens"] == usage["total_tokens"]
        assert (usage["input_tokens"], usage["output_tokens"]) == (
            count_tokens(QUESTION),
            count_tokens(reply),
        )


def test_chatzy_stream_status_and_message_list_show_one_conversation(base: str) -> None:
    async def scenario() -> tuple[list[str], dict[str, Any], dict[str, Any], dict[str, Any]]:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            opened = await client.get("/init_conversation", params={"chatbot_id": CHATBOT})
            conversation = opened.json()["data"]["conversation_id"]
            body = {
                "chatbot_id": CHATBOT,
                "conversation_id": conversation,
                "messages": {"role": "user", "content": QUESTION},
            }
            token = (await client.post("/get_inference", json=body)).json()["data"]["temp_token"]
            async with client.stream("GET", "/get-response", params={"temp_token": token}) as response:
                reader = Reader(response)
                await client.post("/__mock/clock", json={"seconds": 1.5})  # halfway through processing
                midway = (
                    await client.get(
                        "/get_messages_for_conversation", params={"conversation_id": conversation}
                    )
                ).json()["data"]
                await client.post("/__mock/clock", json={"seconds": 5})
                payloads = [data for _, data in await reader.rest()]
            query = {"conversation_id": conversation}
            status = (await client.get("/get_stream_status", params=query)).json()["data"]
            listed = (await client.get("/get_messages_for_conversation", params=query)).json()["data"]
            return payloads, midway, status, listed

    payloads, midway, status, listed = run(scenario())
    streamed = "".join(json.loads(p)["content"] for p in payloads[:-1]).rstrip()
    assert streamed
    assert payloads[-1] == "close_connection"
    assert [(m["role"], m["content"]) for m in status["messages"]] == [
        ("user", QUESTION),
        ("assistant", streamed),
    ]
    assert [(m["role"], m["content"]) for m in listed["messages"]] == [
        ("assistant", streamed),
        ("user", QUESTION),
    ]  # newest first
    assert listed["messages"][0]["message_id"] == status["messages"][1]["message_id"]
    partial = midway["messages"][0]
    assert partial["role"] == "assistant"
    assert streamed.startswith(partial["content"])
    assert len(partial["content"]) < len(streamed)


def test_open_fields_carry_values_a_real_server_sends(base: str) -> None:
    with _client(base, "invent") as client:
        message = client.post(
            "/chats/chat-7/messages", json={"message": [{"type": "text", "text": "x"}]}
        ).json()
        assert (message["role"], message["model"], message["tools"]) == ("assistant", "gpt-4o", [])
        assert "member" not in message
        assert message["is_broadcast_message"] is False
        opened = client.get("/init_conversation", params={"chatbot_id": CHATBOT}).json()["data"]
        greeting = opened["introductory_message"]
        assert (greeting["content"], greeting["buttons"]) == ("Hi! How can I help you today?", [])
        body = {
            "chatbot_id": CHATBOT,
            "conversation_id": opened["conversation_id"],
            "messages": {"role": "user", "content": "x"},
        }
        sent = client.post("/get_inference", json=body).json()["data"]
        assert sent["introductory_message"]["created_at"] <= sent["user_message"]["created_at"]
    with _client(base, "letta") as client:
        run = client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "x"}).json()
        assert (run["conversation_id"], run["base_template_id"]) == (None, None)

"""A polling, stream-reading client of the four APIs, used to compare a recording with its replay.

It knows the APIs' paths and frames on its own (no recorder code), and reports what a client saw:
the states in order, the fields of each state, the stream's text and ending signal.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from lifecycle.expressions import resolve_pointer
from lifecycle.model import Lifecycle
from tests.mockserver.conftest import AGENT, AUTH, CHATBOT

STREAMING = frozenset({"privategpt", "letta", "chatzy"})


@dataclass
class Walk:
    """What one client saw of one resource."""

    resource_id: str
    states: list[str] = field(default_factory=list)
    began: list[float] = field(default_factory=list)  # when each state was first seen (since creation)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # state -> settable fields seen
    text: str = ""
    end: str | None = None
    errors: int = 0


def settable(lifecycle: Lifecycle, values: Mapping[str, Any], resource_id: str) -> dict[str, Any]:
    shown = {name for state in lifecycle.states.values() for name in state.show}
    automatic = set(lifecycle.timestamps.values())
    if lifecycle.callback is not None:
        automatic |= set(lifecycle.callback.records.values())
    return {
        k: v for k, v in values.items() if k not in shown | automatic and v is not None and v != resource_id
    }


async def create(client: httpx.AsyncClient, api: str, scenario: str) -> tuple[str, str | None]:
    """Create one resource walking ``scenario``: (its id, Chatzy's stream token)."""
    headers = {**AUTH[api], "X-Mock-Scenario": scenario}
    if api == "privategpt":
        body = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
        answer = await client.post("/v1/messages/async", json=body, headers=headers)
        return str(answer.json()["message_id"]), None
    if api == "letta":
        answer = await client.post(
            f"/v1/agents/{AGENT}/messages/async", json={"input": "hi"}, headers=headers
        )
        return str(answer.json()["id"]), None
    if api == "invent":
        body = {"message": [{"type": "text", "text": "hi"}]}
        answer = await client.post("/chats/chat-1/messages", json=body, headers=headers)
        return str(answer.json()["id"]), None
    opened = await client.get("/init_conversation", params={"chatbot_id": CHATBOT})
    conversation = str(opened.json()["data"]["conversation_id"])
    body = {
        "chatbot_id": CHATBOT,
        "conversation_id": conversation,
        "messages": {"role": "user", "content": "hi"},
    }
    answer = await client.post("/get_inference", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return conversation, str(answer.json()["data"]["temp_token"])


async def read(client: httpx.AsyncClient, api: str, resource_id: str) -> tuple[int, Any, str, dict[str, str]]:
    """A status read: (status, body, operation, view fields)."""
    if api == "privategpt":
        answer = await client.get(f"/v1/messages/async/{resource_id}/status", headers=AUTH[api])
        fields = {"status": "/status", "error_message": "/error_message"}
    elif api == "letta":
        answer = await client.get(f"/v1/runs/{resource_id}", headers=AUTH[api])
        fields = {"status": "/status", "stop_reason": "/stop_reason", "metadata.error": "/metadata/error"}
    elif api == "invent":
        answer = await client.get(f"/chats/chat-1/messages/{resource_id}", headers=AUTH[api])
        fields = {"status": "/status", "error": "/error"}
    else:
        answer = await client.get("/get_stream_status", params={"conversation_id": resource_id})
        fields = {
            "stream_status": "/data/stream_status",
            "response_processing_status": "/data/response_processing_status",
        }
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else None
    return answer.status_code, body, api, fields


async def read_stream(
    client: httpx.AsyncClient,
    api: str,
    resource_id: str,
    token: str | None,
    *,
    walk: Walk,
    opened: asyncio.Event | None = None,
) -> None:
    if api == "privategpt":
        request = client.build_request("GET", f"/v1/messages/async/{resource_id}/stream", headers=AUTH[api])
    elif api == "letta":
        request = client.build_request("POST", f"/v1/runs/{resource_id}/stream", json={}, headers=AUTH[api])
    else:
        request = client.build_request("GET", "/get-response", params={"temp_token": token})
    response = await client.send(request, stream=True)
    if opened is not None:
        opened.set()
    buffer = ""
    try:
        async for chunk in response.aiter_text():
            buffer += chunk
            while "\n\n" in buffer:
                block, buffer = buffer.split("\n\n", 1)
                data = "\n".join(line[6:] for line in block.split("\n") if line.startswith("data: "))
                event = next((line[7:] for line in block.split("\n") if line.startswith("event: ")), None)
                _take(api, event, data, walk)
    finally:
        await response.aclose()


def _take(api: str, event: str | None, data: str, walk: Walk) -> None:
    try:
        payload = json.loads(data)
    except ValueError:
        if data.strip() and data.strip() != "call_again" and not data.startswith('{"unterminated"'):
            walk.end = data.strip()
        return
    if not isinstance(payload, dict):
        return
    if api == "privategpt":
        if payload.get("type") == "content_block_delta":
            walk.text += payload["delta"]["text"]
        elif event in ("message_stop", "error"):
            walk.end = event
    elif isinstance(payload.get("content"), str) and (
        api == "chatzy" or payload.get("message_type") == "assistant_message"
    ):
        walk.text += payload["content"]


async def walk(
    client: httpx.AsyncClient,
    lifecycle: Lifecycle,
    api: str,
    scenario: str,
    *,
    poll: float = 0.03,
    deadline: float = 15.0,
    stream: bool = True,
) -> Walk:
    """Create a resource walking ``scenario``, poll it until terminal, read its stream meanwhile.

    Polls back off while nothing changes (``poll`` plus a tenth of the time since the last change),
    so a long state costs few reads and every state is timed to about a tenth of its length.
    """
    resource_id, token = await create(client, api, scenario)
    started = time.monotonic()
    seen = Walk(resource_id)
    reader = (
        asyncio.create_task(read_stream(client, api, resource_id, token, walk=seen))
        if stream and api in STREAMING
        else None
    )
    changed = started
    while time.monotonic() - started < deadline:
        status, body, _, fields = await read(client, api, resource_id)
        if status != 200:
            seen.errors += 1
        else:
            values = {name: resolve_pointer(body, pointer) for name, pointer in fields.items()}
            state = lifecycle.state_showing(values)
            assert state is not None, body
            if not seen.states or seen.states[-1] != state.name:
                seen.states.append(state.name)
                seen.began.append(time.monotonic() - started)
                changed = time.monotonic()
            seen.values.setdefault(state.name, settable(lifecycle, values, resource_id))
            if state.terminal:
                break
        await asyncio.sleep(poll + 0.1 * (time.monotonic() - changed))
    if reader is not None:
        await asyncio.wait_for(reader, timeout=deadline)
    return seen


async def warm_up(client: httpx.AsyncClient, api: str) -> None:
    """One create and one read straight on a server: its first calls compile what later ones reuse."""
    resource_id, _ = await create(client, api, "happy")
    await read(client, api, resource_id)


async def replay(
    client: httpx.AsyncClient, lifecycle: Lifecycle, api: str, scenario: str, afters: list[float]
) -> Walk:
    """Walk ``scenario`` on a mock with a manual clock: read, then move time by each step's ``after``
    and read again, with the stream open from the start. Nothing here depends on the machine's load."""
    resource_id, token = await create(client, api, scenario)
    seen = Walk(resource_id)
    opened = asyncio.Event()
    reader = (
        asyncio.create_task(read_stream(client, api, resource_id, token, walk=seen, opened=opened))
        if api in STREAMING
        else None
    )
    if reader is not None:
        await asyncio.wait_for(opened.wait(), timeout=10)
    for index, after in enumerate([0.0, *afters]):
        # time moves in small steps, as a real clock would, so frames go out in the step they belong to
        count = min(20, math.ceil(after / 0.25)) if index else 0
        for part in range(count):
            # a millisecond more on the last part: float parts of an epoch clock must not fall short
            seconds = after / count + (1e-3 if part == count - 1 else 0.0)
            moved = await client.post("/__mock/clock", json={"seconds": seconds})
            assert moved.status_code == 200, moved.text
            await asyncio.sleep(0.002)
        status, body, _, fields = await read(client, api, resource_id)
        while status != 200:  # a recorded error answer (e.g. 503 twice): read again
            seen.errors += 1
            status, body, _, fields = await read(client, api, resource_id)
        values = {name: resolve_pointer(body, pointer) for name, pointer in fields.items()}
        state = lifecycle.state_showing(values)
        assert state is not None, body
        if not seen.states or seen.states[-1] != state.name:
            seen.states.append(state.name)
        seen.values.setdefault(state.name, settable(lifecycle, values, resource_id))
    if reader is not None:
        await asyncio.wait_for(reader, timeout=10)
    return seen


@dataclass
class _Polled:
    walk: Walk
    token: str | None
    next_poll: float = 0.0
    changed: float = 0.0
    done: bool = False


async def walk_on_manual_clock(
    proxy: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    lifecycle: Lifecycle,
    api: str,
    scenarios: list[str],
    *,
    horizon: float = 60.0,
) -> list[Walk]:
    """Create one resource per scenario through ``proxy`` and walk them all on the target's manual
    clock (moved through ``admin``): each is polled at 0.1 s plus a tenth of the time since its last
    change, its stream read from the start. Deterministic: the clock moves only between polls."""
    started = float((await admin.get("/__mock/clock")).json()["epoch"])
    polled = []
    for name in scenarios:
        resource_id, token = await create(proxy, api, name)
        polled.append(_Polled(Walk(resource_id), token, next_poll=started, changed=started))
    readers = []
    for item in polled:
        if api in STREAMING:
            opened = asyncio.Event()
            readers.append(
                asyncio.create_task(
                    read_stream(proxy, api, item.walk.resource_id, item.token, walk=item.walk, opened=opened)
                )
            )
            await asyncio.wait_for(opened.wait(), timeout=10)
    now = started
    while any(not item.done for item in polled) and now - started < horizon:
        due = [item for item in polled if not item.done and item.next_poll <= now + 1e-9]
        for item in due:
            await _poll_once(proxy, lifecycle, api, item, now=now, started=started)
            item.next_poll = now + 0.1 + 0.1 * (now - item.changed)
        waiting = [item.next_poll for item in polled if not item.done]
        if waiting:
            step = max(min(waiting) - now, 0.0)
            now = float((await admin.post("/__mock/clock", json={"seconds": step})).json()["epoch"])
            await asyncio.sleep(0.01)  # let streams deliver what became due before the next poll
    await asyncio.wait_for(asyncio.gather(*readers), timeout=30)
    return [item.walk for item in polled]


async def _poll_once(
    client: httpx.AsyncClient, lifecycle: Lifecycle, api: str, item: _Polled, *, now: float, started: float
) -> None:
    status, body, _, fields = await read(client, api, item.walk.resource_id)
    if status != 200:
        item.walk.errors += 1
        return
    values = {name: resolve_pointer(body, pointer) for name, pointer in fields.items()}
    state = lifecycle.state_showing(values)
    assert state is not None, body
    seen = item.walk
    if not seen.states or seen.states[-1] != state.name:
        seen.states.append(state.name)
        seen.began.append(now - started)
        item.changed = now
    seen.values.setdefault(state.name, settable(lifecycle, values, seen.resource_id))
    item.done = state.terminal

"""Each write of a stream is a system call, for every open stream: what is due at one moment goes
out in one write (the opening frames, the tokens, the closing frames and the response's end)."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx

from mockserver.app import create_app
from mockserver.servers import serve_in_thread
from mockserver.streams import EventStream, Frames
from tests.mockserver.conftest import settings
from tests.mockserver.test_event_stream import Peer

BODY = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"Authorization": "t", "X-Mock-Scenario": "happy"}


def test_the_end_goes_out_with_the_last_frames() -> None:
    async def frames() -> Frames:
        yield "token", "data: a\n\n"
        yield "end", "data: b\n\nevent: stop\ndata: {}\n\n"

    async def scenario() -> list[MutableMapping[str, Any]]:
        peer = Peer()
        await EventStream(frames())({"type": "http"}, peer.receive, peer.send)
        return peer.sent

    sent = asyncio.run(scenario())
    assert [(m["body"], m["more_body"]) for m in sent[1:]] == [
        (b"data: a\n\n", True),
        (b"data: b\n\nevent: stop\ndata: {}\n\n", False),  # no empty write of its own after it
    ]


def test_everything_due_at_once_is_one_write() -> None:
    app = create_app(settings())
    writes: list[MutableMapping[str, Any]] = []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def spy(message: MutableMapping[str, Any]) -> None:
            if scope.get("path", "").endswith("/stream") and message["type"] == "http.response.body":
                writes.append(message)
            await send(message)

        await app(scope, receive, spy)

    with serve_in_thread(recording) as url, httpx.Client(base_url=url, timeout=30) as client:
        made = client.post("/v1/messages/async", json=BODY, headers=HEADERS).json()["message_id"]
        with client.stream("GET", f"/v1/messages/async/{made}/stream", headers=HEADERS) as stream:
            assert client.post("/__mock/clock", json={"seconds": 3600}).status_code == 200
            text = "".join(stream.iter_text())
    assert "message_start" in text
    assert "message_stop" in text
    # the whole reply, opening to end, was due when the clock moved: one write (was seven)
    assert [message["more_body"] for message in writes] == [False]

"""``streams.EventStream``, the SSE response, at the ASGI level: what it sends, and how a client's
disconnect ends a stream wherever it waits (and releases what the frames hold)."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import pytest

from mockserver.streams import EventStream, Frames


class Peer:
    """The server side of one connection: records what the app sends, disconnects on demand."""

    def __init__(self) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self.gone = asyncio.Event()
        self.asked = 0

    async def receive(self) -> MutableMapping[str, Any]:
        self.asked += 1
        if self.asked == 1:
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


async def frames(texts: list[str], released: list[str], *, then_wait: bool = False) -> Frames:
    try:
        for text in texts:
            yield "token", text
        if then_wait:
            await asyncio.Event().wait()  # like a stream sleeping until a token that never comes
    finally:
        released.append("released")


def test_frames_go_out_in_order_one_body_each_then_the_end() -> None:
    async def scenario() -> tuple[list[MutableMapping[str, Any]], list[str]]:
        peer, released = Peer(), list[str]()
        response = EventStream(
            frames(["data: a\n\n", "data: é\n\n"], released), headers={"Cache-Control": "no-cache"}
        )
        await response({"type": "http"}, peer.receive, peer.send)
        return peer.sent, released

    sent, released = asyncio.run(scenario())
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in sent[0]["headers"]
    assert (b"cache-control", b"no-cache") in sent[0]["headers"]
    assert [(m["body"], m["more_body"]) for m in sent[1:]] == [
        (b"data: a\n\n", True),
        ("data: é\n\n".encode(), True),
        (b"", False),
    ]
    assert released == ["released"]


def test_a_disconnect_ends_a_waiting_stream_quietly_and_releases_its_frames() -> None:
    async def scenario() -> tuple[list[MutableMapping[str, Any]], list[str], bool]:
        peer, released = Peer(), list[str]()
        response = EventStream(frames(["data: a\n\n"], released, then_wait=True))
        task = asyncio.ensure_future(response({"type": "http"}, peer.receive, peer.send))
        while len(peer.sent) < 2:  # the first frame is out; the stream now waits for the next
            await asyncio.sleep(0)
        peer.gone.set()
        await asyncio.wait({task}, timeout=10)  # a guard against hanging, not a measure of speed
        assert task.done(), "the disconnect did not end the stream"
        assert task.exception() is None  # returns normally: a disconnect is no error of the app's
        return peer.sent, released, task.cancelled()

    sent, released, cancelled = asyncio.run(scenario())
    assert [m.get("body") for m in sent[1:]] == [b"data: a\n\n"]  # no end of body after a disconnect
    assert released == ["released"]
    assert not cancelled


def test_a_cancel_from_elsewhere_still_cancels_the_stream() -> None:
    async def scenario() -> list[str]:
        peer, released = Peer(), list[str]()
        response = EventStream(frames([], released, then_wait=True))
        task = asyncio.ensure_future(response({"type": "http"}, peer.receive, peer.send))
        while not peer.sent:
            await asyncio.sleep(0)
        task.cancel()  # e.g. the server's graceful timeout
        with pytest.raises(asyncio.CancelledError):
            await task
        return released

    assert asyncio.run(scenario()) == ["released"]

"""Streams agree with the status endpoint at every step (read incrementally over a real socket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mockserver.app import create_app
from tests.mockserver.conftest import AGENT, AUTH, CHATBOT, settings
from tests.servers import serve

PGPT_BODY = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_app(settings())) as url:
        yield url


class Reader:
    """Reads SSE frames in the background, so a test can wait for the next one with a timeout
    without cancelling the read itself."""

    def __init__(self, response: httpx.Response) -> None:
        self.queue: asyncio.Queue[tuple[str | None, str] | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        event, data = None, []
        try:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and data:
                    await self.queue.put((event, "\n".join(data)))
                    event, data = None, []
        except httpx.HTTPError:
            pass  # the test closed the stream before its end: that ends the reading too
        finally:
            await self.queue.put(None)

    async def next(self, timeout: float = 5.0) -> tuple[str | None, str] | None:
        """The next frame; None at the end of the stream or when none came within ``timeout``."""
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    async def rest(self) -> list[tuple[str | None, str]]:
        """Every frame until the server ends the stream."""
        collected = []
        while (item := await asyncio.wait_for(self.queue.get(), 10)) is not None:
            collected.append(item)
        return collected


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_privategpt_stream_follows_the_status(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            await client.post("/__mock/reset")
            message = (await client.post("/v1/messages/async", json=PGPT_BODY)).json()["message_id"]
            status = f"/v1/messages/async/{message}/status"
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                stream = Reader(response)
                assert await stream.next(timeout=0.3) is None  # pending: no content, no frame
                await client.post("/__mock/clock", json={"seconds": 1})  # -> processing
                assert (await client.get(status)).json()["status"] == "processing"
                opening = [await stream.next(), await stream.next()]
                assert [frame[0] for frame in opening if frame] == ["message_start", "content_block_start"]
                assert await stream.next(timeout=0.3) is None  # tokens are spread over the processing phase
                await client.post("/__mock/clock", json={"seconds": 1})  # halfway through processing
                delta = await stream.next()
                assert delta is not None
                assert delta[0] == "content_block_delta"
                assert (await client.get(status)).json()["status"] == "processing"
                await client.post("/__mock/clock", json={"seconds": 1})  # -> completed
                rest = await stream.rest()
                assert [kind for kind, _ in rest[-3:]] == [
                    "content_block_stop",
                    "message_delta",
                    "message_stop",
                ]
                assert (await client.get(status)).json()["status"] == "completed"
                text = "".join(
                    json.loads(data)["delta"]["text"] for kind, data in rest if kind == "content_block_delta"
                )
                assert text

    run(scenario())


def test_privategpt_reconnect_replays_from_the_start(base: str) -> None:
    async def scenario() -> list[list[str]]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = (await client.post("/v1/messages/async", json=PGPT_BODY)).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": 10})
            bodies = []
            for _ in range(2):
                response = await client.get(f"/v1/messages/async/{message}/stream")
                bodies.append(response.text.split("\n\n"))
            return bodies

    first, second = run(scenario())
    assert first == second
    assert first[0].startswith("event: message_start")


def test_cancel_ends_an_open_privategpt_stream_without_a_final_event(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = (
                await client.post("/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": "slow"})
            ).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": 6})  # processing, tokens flowing
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                stream = Reader(response)
                first = await stream.next()
                assert first is not None
                assert first[0] == "message_start"
                await client.post(f"/v1/messages/async/{message}/cancel")
                rest = await stream.rest()
            assert "message_stop" not in [kind for kind, _ in rest]
            assert (await client.get(f"/v1/messages/async/{message}/status")).json()["status"] == "cancelled"

    run(scenario())


def test_letta_stream_resumes_after_a_cursor_and_ends_with_done(base: str) -> None:
    async def scenario() -> tuple[list[str], list[str]]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["letta"], timeout=10) as client:
            run_id = (
                await client.post(
                    f"/v1/agents/{AGENT}/messages/async",
                    json={"input": "hi"},
                    headers={"X-Mock-Scenario": "with-running"},
                )
            ).json()["id"]
            await client.post("/__mock/clock", json={"seconds": 5})
            full = (await client.post(f"/v1/runs/{run_id}/stream", json={})).text.strip().split("\n\n")
            resumed = (
                (await client.post(f"/v1/runs/{run_id}/stream", json={"starting_after": 3}))
                .text.strip()
                .split("\n\n")
            )
            return full, resumed

    full, resumed = run(scenario())
    assert full[-1] == "data: [DONE]"
    seqs = [json.loads(f[6:])["seq_id"] for f in full[:-1]]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [json.loads(f[6:])["message_type"] for f in full[-3:-1]] == ["stop_reason", "usage_statistics"]
    assert resumed == full[3:]


def test_chatzy_stream_token_single_use_and_expiry(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            conversation = (await client.get("/init_conversation", params={"chatbot_id": CHATBOT})).json()[
                "data"
            ]["conversation_id"]
            body = {
                "chatbot_id": CHATBOT,
                "conversation_id": conversation,
                "messages": {"role": "user", "content": "hi"},
            }
            token = (await client.post("/get_inference", json=body)).json()["data"]["temp_token"]
            async with client.stream("GET", "/get-response", params={"temp_token": token}) as response:
                await client.post("/__mock/clock", json={"seconds": 5})
                payloads = [data for _, data in await Reader(response).rest()]
            assert payloads[-1] == "close_connection"
            assert all("content" in json.loads(p) for p in payloads[:-1])
            reused = await client.get("/get-response", params={"temp_token": token})
            assert reused.status_code == 409
            assert reused.json()["error"]["code"] == "token_already_used"
            fresh = (await client.get("/generate_secret", params={"conversation_id": conversation})).json()[
                "data"
            ]["temp_token"]
            await client.post("/__mock/clock", json={"seconds": 61})
            expired = await client.get("/get-response", params={"temp_token": fresh})
            assert (expired.status_code, expired.json()["error"]["code"]) == (401, "token_expired")

    run(scenario())


def test_a_disconnecting_client_leaves_no_stream_behind(base: str) -> None:
    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = (
                await client.post(
                    "/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": "never-finishes"}
                )
            ).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": 2})
            watchers = []
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                reader = Reader(response)
                assert await reader.next() is not None
                watchers.append(
                    (await client.get(f"/__mock/resources/privategpt/{message}")).json()["watchers"]
                )
                reader.task.cancel()
            for _ in range(200):  # the server notices the disconnect and ends the stream's task at once
                now = (await client.get(f"/__mock/resources/privategpt/{message}")).json()["watchers"]
                if now == 0:
                    break
                await asyncio.sleep(0.01)
            watchers.append(now)
            return watchers

    assert run(scenario()) == [1, 0]


def _stream_of(base: str, scenario: str, advance_before: float, advance_during: float) -> list[str]:
    """Create a PrivateGPT message in ``scenario``, open its stream after ``advance_before`` mock
    seconds, move the clock ``advance_during`` more while reading, return the raw frames."""

    async def scenario_run() -> list[str]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=30) as client:
            message = (
                await client.post("/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": scenario})
            ).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": advance_before})
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                reader = Reader(response)
                await client.post("/__mock/clock", json={"seconds": advance_during})
                frames = await reader.rest()
            return [f"{kind}|{data}" for kind, data in frames]

    result: list[str] = run(scenario_run())
    return result


def test_fault_drop_ends_the_stream_early_without_its_terminal_signal(base: str) -> None:
    frames = _stream_of(base, "stream-drop", 1, 10)
    assert len(frames) == 5
    assert not any(frame.startswith("message_stop|") for frame in frames)


def test_fault_malformed_frame(base: str) -> None:
    frames = _stream_of(base, "stream-malformed", 1, 10)
    broken = []
    for frame in frames:
        try:
            json.loads(frame.split("|", 1)[1])
        except ValueError:
            broken.append(frame)
    assert len(broken) == 1
    assert frames[-1].startswith("message_stop|")  # the stream goes on after the bad frame


def test_fault_no_terminal_signal(base: str) -> None:
    frames = _stream_of(base, "stream-no-terminal", 1, 10)
    kinds = [frame.split("|", 1)[0] for frame in frames]
    assert "content_block_delta" in kinds
    assert "message_stop" not in kinds
    assert "content_block_stop" not in kinds


def test_fault_header_stall_delays_the_first_frame(base: str) -> None:
    async def scenario_run() -> float:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=30) as client:
            message = (await client.post("/v1/messages/async", json=PGPT_BODY)).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": 10})
            loop = asyncio.get_running_loop()
            began = loop.time()
            async with client.stream(
                "GET", f"/v1/messages/async/{message}/stream", headers={"X-Mock-Fault": "stall=400ms"}
            ) as response:
                first = await Reader(response).next()
            assert first is not None
            return loop.time() - began

    assert run(scenario_run()) >= 0.4

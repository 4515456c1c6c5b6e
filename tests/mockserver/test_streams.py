"""Streams agree with the status endpoint at every step (read incrementally over a real socket)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from comeback.testing import START, at_once, bundled_catalog
from lifecycle.timeline import start
from mockserver.app import create_app
from mockserver.servers import serve_in_thread as serve
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from mockserver.store import Resource
from mockserver.streams import reply_tokens
from tests.mockserver.conftest import AGENT, AUTH, CHATBOT, settings

PGPT_BODY = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve(create_app(settings())) as url:
        yield url


class Reader:
    """Reads SSE frames (with httpx-sse, as a client would) in the background, so a test can wait
    for the next one with a timeout without cancelling the read itself."""

    def __init__(self, response: httpx.Response) -> None:
        self.queue: asyncio.Queue[tuple[str | None, str] | None] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read(response))

    async def _read(self, response: httpx.Response) -> None:
        try:
            async for event in EventSource(response).aiter_sse():
                # httpx-sse names a frame without an event: line "message", as browsers do
                await self.queue.put((None if event.event == "message" else event.event, event.data))
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


async def letta_run(client: httpx.AsyncClient, scenario: str) -> str:
    """Create a Letta run walking ``scenario``; its id."""
    url = f"/v1/agents/{AGENT}/messages/async"
    created = await client.post(url, json={"input": "hi"}, headers={"X-Mock-Scenario": scenario})
    run_id: str = created.json()["id"]
    return run_id


async def chatzy_turn(client: httpx.AsyncClient, scenario: str | None = None) -> tuple[str, str]:
    """Open a Chatzy conversation and send a message: (conversation id, stream token)."""
    opened = await client.get("/init_conversation", params={"chatbot_id": CHATBOT})
    conversation = opened.json()["data"]["conversation_id"]
    body = {
        "chatbot_id": CHATBOT,
        "conversation_id": conversation,
        "messages": {"role": "user", "content": "hi"},
    }
    headers = {"X-Mock-Scenario": scenario} if scenario else {}
    token = (await client.post("/get_inference", json=body, headers=headers)).json()["data"]["temp_token"]
    return conversation, token


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_privategpt_stream_follows_the_status(base: str) -> None:
    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            await client.post("/__mock/reset", json={})
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
            run_id = await letta_run(client, "with-running")
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
            conversation, token = await chatzy_turn(client)
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


async def _never_finishing_message(client: httpx.AsyncClient) -> str:
    """A PrivateGPT message that stays processing, two mock seconds after its creation."""
    created = await client.post(
        "/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": "never-finishes"}
    )
    await client.post("/__mock/clock", json={"seconds": 2})
    message: str = created.json()["message_id"]
    return message


async def _watchers_once_they_reach(client: httpx.AsyncClient, message: str, wanted: int) -> int:
    """The resource's watcher count, polled (up to 5 s) until it is ``wanted``."""
    for _ in range(500):
        now: int = (await client.get(f"/__mock/resources/privategpt/{message}")).json()["watchers"]
        if now == wanted:
            break
        await asyncio.sleep(0.01)
    return now


def test_a_disconnecting_client_leaves_no_stream_behind(base: str) -> None:
    async def scenario() -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = await _never_finishing_message(client)
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                reader = Reader(response)
                assert await reader.next() is not None
                opened = await _watchers_once_they_reach(client, message, 1)
                reader.task.cancel()
            # the server notices the disconnect and ends the stream's task at once
            return [opened, await _watchers_once_they_reach(client, message, 0)]

    assert run(scenario()) == [1, 0]


def test_a_client_leaving_during_a_fault_stall_leaves_no_stream_behind() -> None:
    async def scenario(base: str) -> list[int]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = await _never_finishing_message(client)
            stream = f"/v1/messages/async/{message}/stream"
            async with client.stream("GET", stream, headers={"X-Mock-Fault": "stall=60s"}):
                # the stream is open, stalled before its first frame
                opened = await _watchers_once_they_reach(client, message, 1)
            # the server notices the disconnect inside the stall's wait
            return [opened, await _watchers_once_they_reach(client, message, 0)]

    with serve(create_app(settings())) as url:  # its own mock: the stalled stream's resource stays
        assert run(scenario(url)) == [1, 0]


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


CHATZY_ENDINGS = [
    ("happy", "close_connection"),
    ("done-signal", "[DONE]"),
    ("error-turn", "__ERROR__: The AI agent could not generate a response"),
    ("incomplete-content", "close_connection_incomplete_content"),
    ("incomplete-tool-calls", "close_connection_incomplete_tool_calls"),
    ("incomplete-request", "close_connection_incomplete_request"),
    ("frozen", "[FROZEN]"),
    ("blacklisted", "[BLACKLISTED]"),
    ("no-message-found", "no_message_found"),
]


def _chatzy_stream(base: str, scenario: str) -> tuple[list[str], dict[str, Any]]:
    async def scenario_run() -> tuple[list[str], dict[str, Any]]:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            conversation, token = await chatzy_turn(client, scenario)
            async with client.stream("GET", "/get-response", params={"temp_token": token}) as response:
                reader = Reader(response)
                await client.post("/__mock/clock", json={"seconds": 1.5})  # halfway through processing
                await client.post("/__mock/clock", json={"seconds": 5})
                payloads = [data for _, data in await reader.rest()]
            status = (
                await client.get("/get_stream_status", params={"conversation_id": conversation})
            ).json()["data"]
            return payloads, status

    result: tuple[list[str], dict[str, Any]] = run(scenario_run())
    return result


@pytest.mark.parametrize(("scenario", "ending"), CHATZY_ENDINGS, ids=[s for s, _ in CHATZY_ENDINGS])
def test_chatzy_control_signals_end_the_stream_and_status_shows_case_3(
    base: str, scenario: str, ending: str
) -> None:
    payloads, status = _chatzy_stream(base, scenario)
    assert payloads[-1] == ending
    assert all("content" in json.loads(p) for p in payloads[:-1])
    assert (status["stream_status"], status["response_processing_status"]) == ("completed", "completed")


def test_chatzy_error_signals_cut_the_reply_short() -> None:
    app = create_app(settings())
    with serve(app) as url:
        cut, _ = _chatzy_stream(url, "incomplete-content")
        (turn,) = at_once(lambda: app.state.engine.resources("chatzy"), DEFAULT_NAMESPACE)
    chunks = [json.loads(p)["content"] for p in cut[:-1]]
    assert 0 < len(chunks) < len(turn.extra["reply_tokens"])  # part of the reply, not all of it
    assert chunks == turn.extra["reply_tokens"][: len(chunks)]


def test_chatzy_tool_call_then_more_chunks_on_the_same_stream(base: str) -> None:
    payloads, _ = _chatzy_stream(base, "tool-call")
    assert payloads.count("call_again") == 1
    position = payloads.index("call_again")
    assert position == 5  # after five chunks
    assert all("content" in json.loads(p) for p in payloads[position + 1 : -1])
    assert payloads[-1] == "close_connection"


def test_a_generated_reply_always_goes_on_after_the_tool_call() -> None:
    """The reply is generated per resource (its id and creation time seed it); a short one once
    ended before the fifth chunk, so the tool call never happened (how often hung on which tests
    had run before on the same mock)."""
    scenario = bundled_catalog()["chatzy"].scenarios["tool-call"]
    after = scenario.stream_plan.call_again_after
    assert after == 5
    for index in range(200):
        timeline = start(scenario, START + index)
        resource = Resource("chatzy", f"turn-{index}", {}, "tool-call", timeline, None, 0)
        assert len(reply_tokens(0, resource)) > after, index


def test_scripted_reply_is_streamed_word_by_word_at_its_pace(base: str) -> None:
    async def scenario_run() -> tuple[list[str], list[str]]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            created = await client.post(
                "/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": "scripted-reply"}
            )
            message = created.json()["message_id"]
            await client.post(
                "/__mock/clock", json={"seconds": 2}
            )  # one second into processing: about four words
            early = []
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                reader = Reader(response)
                while (got := await reader.next(timeout=0.3)) is not None:
                    early.append(f"event: {got[0]}\ndata: {got[1]}")
            await client.post("/__mock/clock", json={"seconds": 10})
            full = (await client.get(f"/v1/messages/async/{message}/stream")).text
            return early, full.split("\n\n")

    early, full = run(scenario_run())
    words = [
        json.loads(f.split("data: ", 1)[1])["delta"]["text"]
        for f in full
        if f.startswith("event: content_block_delta")
    ]
    assert (
        "".join(words)
        == "The quarterly report is ready. Revenue grew twelve percent, driven by new subscriptions."
    )
    assert 2 <= sum(f.startswith("event: content_block_delta") for f in early) <= 6


def test_several_hundred_streams_at_once_and_a_stalled_reader_delays_no_one() -> None:
    count = 300

    async def one(client: httpx.AsyncClient, message: str) -> str:
        response = await client.get(f"/v1/messages/async/{message}/stream")
        return response.text.strip().rsplit("\n", 1)[-1]

    async def scenario_run(base: str) -> tuple[list[str], int]:
        limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
        async with httpx.AsyncClient(
            base_url=base, headers=AUTH["privategpt"], timeout=30, limits=limits
        ) as client:
            messages = [
                (await client.post("/v1/messages/async", json=PGPT_BODY)).json()["message_id"]
                for _ in range(count + 1)
            ]
            stalled = client.stream("GET", f"/v1/messages/async/{messages[-1]}/stream")
            await stalled.__aenter__()  # opened, never read
            readers = [asyncio.ensure_future(one(client, m)) for m in messages[:-1]]
            while (
                opened := sum(r["watchers"] for r in (await client.get("/__mock/resources")).json())
            ) < count + 1:
                await asyncio.sleep(0.05)
            await client.post("/__mock/clock", json={"seconds": 5})
            endings = await asyncio.wait_for(asyncio.gather(*readers), 30)
            await stalled.__aexit__(None, None, None)
            return endings, opened

    with serve(create_app(settings())) as url:
        endings, opened = run(scenario_run(url))
    assert opened == count + 1  # every stream was open at the same time
    assert endings == ['data: {"type":"message_stop"}'] * count


def test_the_same_seed_gives_the_same_stream() -> None:
    async def stream_text(base: str) -> str:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            await client.post("/v1/messages/async", params={"message_id": "fixed"}, json=PGPT_BODY)
            await client.post("/__mock/clock", json={"seconds": 5})
            return (await client.get("/v1/messages/async/fixed/stream")).text

    texts = []
    for seed in (3, 3, 4):
        with serve(create_app(settings(seed=seed))) as url:
            texts.append(run(stream_text(url)))
    assert texts[0] == texts[1]
    assert texts[0] != texts[2]


def test_letta_stream_and_run_status_agree_step_by_step(base: str) -> None:
    async def scenario_run() -> None:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["letta"], timeout=10) as client:
            run_id = await letta_run(client, "with-running")
            status = f"/v1/runs/{run_id}"
            async with client.stream(
                "POST", f"/v1/runs/{run_id}/stream", json={"include_pings": False}
            ) as response:
                stream = Reader(response)
                assert await stream.next(timeout=0.3) is None  # created: nothing yet
                assert (await client.get(status)).json()["status"] == "created"
                await client.post("/__mock/clock", json={"seconds": 2})  # running, halfway
                first = await stream.next()
                assert first is not None
                assert json.loads(first[1])["message_type"] == "assistant_message"
                assert (await client.get(status)).json()["status"] == "running"
                await client.post("/__mock/clock", json={"seconds": 1})  # completed
                rest = await stream.rest()
            assert [data for _, data in rest][-1] == "[DONE]"
            assert json.loads(rest[-3][1])["stop_reason"] == "end_turn"
            assert (await client.get(status)).json()["status"] == "completed"

    run(scenario_run())


def test_chatzy_stream_and_stream_status_agree_step_by_step(base: str) -> None:
    async def scenario_run() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            conversation, token = await chatzy_turn(client)

            async def case() -> tuple[str, str | None]:
                data = (
                    await client.get("/get_stream_status", params={"conversation_id": conversation})
                ).json()["data"]
                return data["stream_status"], data["response_processing_status"]

            async with client.stream("GET", "/get-response", params={"temp_token": token}) as response:
                stream = Reader(response)
                assert await stream.next(timeout=0.3) is None
                assert await case() == ("is_streaming", None)  # Case 1
                await client.post("/__mock/clock", json={"seconds": 2})
                chunk = await stream.next()
                assert chunk is not None
                assert "content" in json.loads(chunk[1])
                assert await case() == ("is_streaming", "processing")  # Case 2
                await client.post("/__mock/clock", json={"seconds": 1})
                rest = await stream.rest()
            assert rest[-1][1] == "close_connection"
            assert await case() == ("completed", "completed")  # Case 3

    run(scenario_run())


def test_letta_cancel_mid_stream_ends_with_its_terminal_signal(base: str) -> None:
    async def scenario_run() -> list[str]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["letta"], timeout=10) as client:
            run_id = await letta_run(client, "with-running")
            await client.post("/__mock/clock", json={"seconds": 2})
            async with client.stream("POST", f"/v1/runs/{run_id}/stream", json={}) as response:
                stream = Reader(response)
                assert await stream.next() is not None
                await client.post(f"/v1/agents/{AGENT}/messages/cancel", json={"run_ids": [run_id]})
                rest = await stream.rest()
            return [data for _, data in rest]

    tail = run(scenario_run())
    assert tail[-1] == "[DONE]"
    assert json.loads(tail[-3])["stop_reason"] == "cancelled"


def test_fault_drip_spaces_the_frames(base: str) -> None:
    async def scenario_run() -> tuple[int, float]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = (await client.post("/v1/messages/async", json=PGPT_BODY)).json()["message_id"]
            await client.post("/__mock/clock", json={"seconds": 10})
            loop = asyncio.get_running_loop()
            began = loop.time()
            response = await client.get(
                f"/v1/messages/async/{message}/stream", headers={"X-Mock-Fault": "drip=20ms; drop_after=6"}
            )
            return response.text.count("\n\n"), loop.time() - began

    frames, elapsed = run(scenario_run())
    assert frames == 6
    assert elapsed >= 6 * 0.02


def test_idle_streams_send_keepalives() -> None:
    async def scenario_run(base: str) -> list[tuple[str | None, str]]:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["privategpt"], timeout=10) as client:
            message = (
                await client.post(
                    "/v1/messages/async", json=PGPT_BODY, headers={"X-Mock-Scenario": "never-finishes"}
                )
            ).json()["message_id"]
            async with client.stream("GET", f"/v1/messages/async/{message}/stream") as response:
                stream = Reader(response)
                return [frame for _ in range(2) if (frame := await stream.next(timeout=2)) is not None]

    with serve(create_app(settings(keepalive_seconds=0.1))) as url:
        frames = run(scenario_run(url))
    assert frames == [("ping", '{"type":"ping"}')] * 2  # pending and silent: keep-alives only


def test_letta_runs_older_than_three_hours_cannot_stream(base: str) -> None:
    async def scenario_run() -> httpx.Response:
        async with httpx.AsyncClient(base_url=base, headers=AUTH["letta"], timeout=10) as client:
            run_id = await letta_run(client, "happy")
            await client.post("/__mock/clock", json={"seconds": 3 * 3600 + 1})
            return await client.post(f"/v1/runs/{run_id}/stream", json={})

    response = run(scenario_run())
    assert response.status_code == 410
    assert "expired" in response.json()["detail"]

"""Whole flows through a real uvicorn socket, callbacks to a local receiver, and many concurrent clients."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from lifecycle import load_spec
from mockserver.app import create_app
from mockserver.servers import serve_in_thread as serve
from tests.conftest import SPECS
from tests.mockserver.conftest import AGENT, AUTH, settings

LETTA = load_spec((SPECS / "letta.yaml").read_text(encoding="utf-8"), "letta.yaml").lifecycle
PGPT = load_spec((SPECS / "privategpt.yaml").read_text(encoding="utf-8"), "privategpt.yaml").lifecycle


def test_whole_flow_over_a_socket() -> None:
    with serve(create_app(settings())) as base, httpx.Client(base_url=base, headers=AUTH["letta"]) as client:
        run = client.post(
            f"/v1/agents/{AGENT}/messages/async",
            json={"input": "hi"},
            headers={"X-Mock-Scenario": "with-running"},
        ).json()
        seen = [client.get(f"/v1/runs/{run['id']}").json()["status"]]
        for _ in range(2):
            client.post("/__mock/clock", json={"seconds": 1.5})
            seen.append(client.get(f"/v1/runs/{run['id']}").json()["status"])
        assert seen == ["created", "running", "completed"]
        assert client.delete(f"/v1/runs/{run['id']}").status_code == 200
        assert client.get(f"/v1/runs/{run['id']}").status_code == 404


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []  # noqa: RUF012 - shared on purpose between the handler instances

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Receiver.received
    server.shutdown()
    server.server_close()


def _wait_for(predicate: Any, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    asyncio.run(asyncio.wait_for(poll(), timeout))


def test_letta_callback_is_posted_once_when_the_run_first_turns_terminal(
    receiver: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = receiver
    with serve(create_app(settings())) as base, httpx.Client(base_url=base, headers=AUTH["letta"]) as client:
        body = {"messages": [{"role": "user", "content": "hi"}], "callback_url": url}
        run = client.post(
            f"/v1/agents/{AGENT}/messages/async", json=body, headers={"X-Mock-Scenario": "failed"}
        ).json()
        assert run["callback_url"] == url
        client.post("/__mock/clock", json={"seconds": 1})
        assert received == []  # not terminal yet
        client.post("/__mock/clock", json={"seconds": 1})
        _wait_for(lambda: received)
        polled = client.get(f"/v1/runs/{run['id']}").json()
        _wait_for(lambda: client.get(f"/v1/runs/{run['id']}").json()["callback_status_code"] == 204)
        client.post("/__mock/clock", json={"seconds": 100})
        final = client.get(f"/v1/runs/{run['id']}").json()
    assert len(received) == 1
    assert received[0]["run_id"] == run["id"]
    assert received[0]["status"] == "failed"
    assert received[0]["completed_at"] == polled["completed_at"]
    assert final["callback_sent_at"] is not None
    assert final["callback_error"] is None


def test_letta_callback_failure_is_recorded_not_retried() -> None:
    with serve(create_app(settings())) as base, httpx.Client(base_url=base, headers=AUTH["letta"]) as client:
        body = {"messages": [{"role": "user", "content": "hi"}], "callback_url": "http://127.0.0.1:9/closed"}
        run = client.post(f"/v1/agents/{AGENT}/messages/async", json=body).json()
        client.post("/__mock/clock", json={"seconds": 5})
        _wait_for(lambda: client.get(f"/v1/runs/{run['id']}").json()["callback_error"] is not None)
        final = client.get(f"/v1/runs/{run['id']}").json()
    assert final["status"] == "completed"  # a failed callback never changes the run
    assert final["callback_status_code"] is None
    assert "ConnectError" in final["callback_error"]


def test_200_concurrent_clients_see_only_allowed_transitions_and_lose_nothing() -> None:
    async def client_session(client: httpx.AsyncClient, number: int) -> tuple[str, str, list[str]]:
        api = "letta" if number % 2 else "privategpt"
        if api == "letta":
            created = await client.post(
                f"/v1/agents/{AGENT}/messages/async",
                json={"input": "hi"},
                headers={**AUTH[api], "X-Mock-Scenario": "with-running"},
            )
            resource_id, read = created.json()["id"], f"/v1/runs/{created.json()['id']}"
        else:
            created = await client.post(
                "/v1/messages/async",
                json={"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]},
                headers=AUTH[api],
            )
            resource_id, read = (
                created.json()["message_id"],
                f"/v1/messages/async/{created.json()['message_id']}/status",
            )
        states = [created.json()["status"]]
        for poll in range(40):
            if poll == 5 and number % 5 == 0:  # every fifth client cancels midway
                if api == "letta":
                    await client.post(
                        f"/v1/agents/{AGENT}/messages/cancel",
                        json={"run_ids": [resource_id]},
                        headers=AUTH[api],
                    )
                else:
                    await client.post(f"/v1/messages/async/{resource_id}/cancel", headers=AUTH[api])
            body = (await client.get(read, headers=AUTH[api])).json()
            states.append(body["status"])
            if body["status"] in ("completed", "cancelled", "failed", "error"):
                break
            await asyncio.sleep(0.02)
        return api, resource_id, states

    async def main() -> tuple[list[tuple[str, str, list[str]]], set[str], list[dict[str, Any]]]:
        # in-process over ASGI: 200 clients on one event loop with the engine, no socket limits in the way
        app = create_app(settings(clock="real", speed=40.0))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://localhost", timeout=30
            ) as client,
        ):
            results = await asyncio.gather(*(client_session(client, n) for n in range(200)))
            kept = {r["id"] for r in (await client.get("/__mock/resources")).json()}
            journal = (await client.get("/__mock/journal")).json()
        return list(results), kept, journal

    results, kept, journal = asyncio.run(main())
    assert len({resource_id for _, resource_id, _ in results}) == 200
    assert {resource_id for _, resource_id, _ in results} == kept  # nothing lost
    creates = [
        e
        for e in journal
        if e["method"] == "POST" and e["operation"] in ("createAgentMessageAsync", "createAsyncMessage")
    ]
    assert len(creates) == 200
    for api, resource_id, states in results:
        lifecycle = LETTA if api == "letta" else PGPT
        for before, after in itertools.pairwise(states):
            assert lifecycle.allows(before, after), f"{api} {resource_id}: {before} -> {after} in {states}"
        assert states[-1] in lifecycle.terminal_states, (resource_id, states)


def test_callbacks_to_hosts_not_allowed_are_recorded_not_sent() -> None:
    with serve(create_app(settings())) as base, httpx.Client(base_url=base, headers=AUTH["letta"]) as client:
        body = {
            "messages": [{"role": "user", "content": "hi"}],
            "callback_url": "https://hooks.example.com/run",
        }
        run = client.post(f"/v1/agents/{AGENT}/messages/async", json=body).json()
        client.post("/__mock/clock", json={"seconds": 5})
        _wait_for(lambda: client.get(f"/v1/runs/{run['id']}").json()["callback_error"] is not None)
        final = client.get(f"/v1/runs/{run['id']}").json()
    assert final["callback_error"].startswith("callback not sent: host 'hooks.example.com' is not allowed")
    assert "--callback-host" in final["callback_error"]
    assert final["callback_status_code"] is None

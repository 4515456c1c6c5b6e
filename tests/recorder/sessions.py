"""A client's session against a live server, as a frontend would drive it while it is recorded.

Like the session of issue 23: several resources created, most left to finish (polled, one stream
read), one cancelled while it works, one deleted; the cancelled one watched until its state settles
a while, so a late flip is seen. A request that meets a cut connection is sent again on a new one,
as a client would. Each API's paths are written here (no recorder or mock code).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.mockserver.conftest import AGENT

TERMINAL = {"completed", "cancelled", "failed", "error", "expired"}


@dataclass
class Paths:
    """Where one API's operations are."""

    create: tuple[str, str]
    read: str  # {id} filled in
    cancel: tuple[str, str]
    delete: str
    stream: tuple[str, str]
    body: dict[str, Any]
    id_pointer: str
    cancel_body: Any = None
    working: str = ""  # a working state to cancel and delete in too ("" : only right after create)


LETTA = Paths(
    create=("POST", f"/v1/agents/{AGENT}/messages/async"),
    read="/v1/runs/{id}",
    cancel=("POST", f"/v1/agents/{AGENT}/messages/cancel"),
    delete="/v1/runs/{id}",
    stream=("POST", "/v1/runs/{id}/stream"),
    body={"input": "hi"},
    id_pointer="id",
    cancel_body={"run_ids": ["{id}"]},
)
PRIVATEGPT = Paths(
    create=("POST", "/v1/messages/async"),
    read="/v1/messages/async/{id}/status",
    cancel=("POST", "/v1/messages/async/{id}/cancel"),
    delete="/v1/messages/async/{id}/delete",
    stream=("GET", "/v1/messages/async/{id}/stream"),
    body={"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]},
    id_pointer="message_id",
    working="processing",
)


@dataclass
class Seen:
    """What the client saw: each resource's states in order, the action answers, cut connections."""

    states: dict[str, list[str]] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)  # "cancel 1", "delete 1", "stream ID" -> status
    cuts: int = 0


ATTEMPTS = 8  # a request sent again after a cut may meet another cut connection of the pool


async def _send(
    client: httpx.AsyncClient, seen: Seen, method: str, url: str, **kwargs: Any
) -> httpx.Response:
    """Send once more on a new connection when the server cut the one the request went out on."""
    for attempt in range(ATTEMPTS):
        try:
            return await client.request(method, url, **kwargs)
        except httpx.TransportError:
            seen.cuts += 1
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _fill(value: Any, resource_id: str) -> Any:
    if isinstance(value, str):
        return value.replace("{id}", resource_id)
    if isinstance(value, list):
        return [_fill(item, resource_id) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, resource_id) for key, item in value.items()}
    return value


async def session(base_url: str, paths: Paths, *, finishing: int = 3, deadline: float = 15.0) -> Seen:
    """Drive one session against ``base_url``; returns what the client saw."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        driver = _Session(client, paths, deadline)
        await driver.run(finishing)
    return driver.seen


class _Session:
    def __init__(self, client: httpx.AsyncClient, paths: Paths, deadline: float) -> None:
        self.client, self.paths, self.deadline = client, paths, deadline
        self.seen = Seen()

    async def run(self, finishing: int) -> None:
        paths = self.paths
        left = [await self.create() for _ in range(finishing)]
        readers = [asyncio.create_task(self.read_stream(resource_id)) for resource_id in left]
        for resource_id in left:  # each seen as it began
            await self.state(resource_id)
        acted = []
        for kind in ("cancel", "delete"):  # each right after its create, as a user who changed their mind
            acted.append(await self.create())
            await self.act(kind, acted[-1])
        if paths.working:  # the same actions once a resource works
            for kind in ("cancel", "delete"):
                acted.append(await self.create())
                began = time.monotonic()
                while (state := await self.state(acted[-1])) != paths.working:
                    if time.monotonic() - began > self.deadline or state in TERMINAL:
                        break
                    await asyncio.sleep(0.02)
                await self.act(kind, acted[-1])
        await self.watch(left + acted)
        await asyncio.wait_for(asyncio.gather(*readers), timeout=self.deadline)

    async def watch(self, watched: list[str]) -> None:
        """Poll until every resource is terminal and 1.5 s more (a cancelled one may turn completed)."""
        began = time.monotonic()
        settled: dict[str, float] = {}
        while time.monotonic() - began < self.deadline:
            for resource_id in watched:
                if await self.state(resource_id) in TERMINAL:
                    settled.setdefault(resource_id, time.monotonic())
            if len(settled) == len(watched) and time.monotonic() - max(settled.values()) > 1.5:
                return
            await asyncio.sleep(0.05)

    async def create(self) -> str:
        method, path = self.paths.create
        answer = await _send(self.client, self.seen, method, path, json=self.paths.body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()[self.paths.id_pointer])

    async def state(self, resource_id: str) -> str | None:
        answer = await _send(self.client, self.seen, "GET", self.paths.read.format(id=resource_id))
        status = answer.json().get("status") if answer.status_code == 200 else None
        if status is not None:
            states = self.seen.states.setdefault(resource_id, [])
            if not states or states[-1] != status:
                states.append(status)
        return str(status) if status is not None else None

    async def read_stream(self, resource_id: str) -> None:
        """Each finishing resource's stream is read while it works, as a chat page would."""
        method, path = self.paths.stream
        body: dict[str, Any] | None = {} if method == "POST" else None
        for attempt in range(ATTEMPTS):
            try:
                async with self.client.stream(method, path.format(id=resource_id), json=body) as stream:
                    self.seen.answers[f"stream {resource_id}"] = stream.status_code
                    async for _ in stream.aiter_bytes():
                        pass
                return
            except httpx.TransportError:
                self.seen.cuts += 1
                if attempt == ATTEMPTS - 1:
                    raise

    async def act(self, kind: str, resource_id: str) -> None:
        if kind == "cancel":
            method, path = self.paths.cancel
            body = _fill(self.paths.cancel_body, resource_id)
            answer = await _send(self.client, self.seen, method, path.format(id=resource_id), json=body)
        else:
            answer = await _send(self.client, self.seen, "DELETE", self.paths.delete.format(id=resource_id))
        number = len([key for key in self.seen.answers if key.startswith(kind)]) + 1
        self.seen.answers[f"{kind} {number}"] = answer.status_code
        await self.state(resource_id)  # what followed, at once

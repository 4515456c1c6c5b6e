"""Server-Sent Events as projections of a resource's timeline.

One loop serves every API: it reads the timeline on the mock's clock, sends the content tokens
that are due (``lifecycle.streaming``), sleeps until the next token or state change (or until a
command wakes it), sends keep-alives when idle, and ends with the vendor's terminal frames exactly
when the status turns terminal. Vendors only encode frames (``Encoder``).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from typing import Any, Protocol

from faker import Faker

from lifecycle.model import Lifecycle
from lifecycle.streaming import due_tokens, ended_badly, next_token_at
from lifecycle.timeline import Timeline
from mockserver.engine import Engine
from mockserver.store import Resource

KEEPALIVE_SECONDS = 15.0  # real seconds of silence before a keep-alive (PrivateGPT's documented idle time)
_FAKER = Faker()


class Encoder(Protocol):
    """A vendor's frames. Each method returns complete SSE frames (text ending in a blank line)."""

    def opening(self, resource: Resource) -> list[str]: ...

    def token(self, resource: Resource, text: str, index: int) -> str: ...

    def closing(self, resource: Resource, timeline: Timeline) -> list[str]: ...

    def keepalive(self, resource: Resource) -> str | None: ...


def frame(data: str, event: str | None = None) -> str:
    """One SSE frame; multi-line data is split into several data: lines as the format requires."""
    lines = [f"event: {event}"] if event else []
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return "\n".join(lines) + "\n\n"


def reply_tokens(seed: int, resource: Resource) -> list[str]:
    """The reply text of a resource, split into word tokens: seeded, so the same every time."""
    digest = hashlib.sha256(
        f"{seed}:reply:{resource.api}:{resource.id}:{resource.created_at}".encode()
    ).digest()
    _FAKER.seed_instance(int.from_bytes(digest[:8], "big"))
    text = _FAKER.paragraph(nb_sentences=3)
    return re.findall(r"\S+\s*", text)


async def events(
    engine: Engine,
    resource: Resource,
    encoder: Encoder,
    *,
    skip: int = 0,
    live: bool = False,
    rate: float = 10.0,
) -> AsyncIterator[str]:
    """The frames of ``resource``'s stream, as they become due. ``skip`` tokens were seen already
    (a resume cursor); ``live`` sends only what becomes due after the client connected."""
    lifecycle: Lifecycle = engine.lifecycle(resource.api)
    tokens = reply_tokens(engine.settings.seed, resource)
    resource.watchers += 1
    try:
        timeline = engine.observe(resource)
        sent = max(
            skip, due_tokens(timeline, lifecycle, len(tokens), engine.clock.now(), rate) if live else 0
        )
        opened = False
        while True:
            timeline = engine.observe(resource)
            if resource.extra.get("deleted"):
                return
            terminal = lifecycle.states[timeline.state].terminal
            due = due_tokens(timeline, lifecycle, len(tokens), engine.clock.now(), rate)
            working = not terminal and timeline.state != lifecycle.initial
            if not opened and (due > sent or working or (terminal and not ended_badly(timeline, lifecycle))):
                opened = True
                for opening in encoder.opening(resource):
                    yield opening
            while sent < due:
                yield encoder.token(resource, tokens[sent], sent)
                sent += 1
            if terminal:
                for closing in encoder.closing(resource, timeline):
                    yield closing
                return
            woke = await _wait(
                engine,
                resource,
                timeline=timeline,
                lifecycle=lifecycle,
                count=len(tokens),
                sent=sent,
                rate=rate,
            )
            if not woke and (keepalive := encoder.keepalive(resource)) is not None:
                yield keepalive
    finally:
        resource.watchers -= 1


async def _wait(
    engine: Engine,
    resource: Resource,
    *,
    timeline: Timeline,
    lifecycle: Lifecycle,
    count: int,
    sent: int,
    rate: float,
) -> bool:
    """Sleep until the next token, the next state change, a command, or the keep-alive interval.
    False when only the keep-alive interval passed."""
    moments = [
        m
        for m in (next_token_at(timeline, lifecycle, count, sent, rate), timeline.next_change_at())
        if m is not None
    ]
    waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(resource.changed().wait())]
    if moments:
        waits.append(asyncio.ensure_future(engine.clock.wait_until(min(moments))))
    try:
        done, _ = await asyncio.wait(waits, timeout=KEEPALIVE_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
    return bool(done)

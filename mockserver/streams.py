"""Server-Sent Events as projections of a resource's timeline.

One loop serves every API: it reads the timeline on the mock's clock, sends the content tokens
that are due (``lifecycle.streaming``), sleeps until the next token or state change (or until a
command wakes it), sends keep-alives when idle, and ends with the vendor's terminal frames exactly
when the status turns terminal. Vendors only encode frames (``Encoder``). ``EventStream`` is the
response that sends them: cheap enough per stream that one process holds ten thousand.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lifecycle.faults import Fault
from lifecycle.model import Lifecycle
from lifecycle.streaming import Pace, Schedule, ended_badly, schedule
from lifecycle.timeline import Timeline
from mockserver.engine import Engine
from mockserver.store import Resource

if TYPE_CHECKING:
    from faker import Faker

Kind = Literal["open", "token", "close", "ping", "end"]  # "end": the last frames, with nothing after
Frames = AsyncGenerator[tuple[Kind, str], None]  # a stream's frames, each tagged by its kind


@cache
def reply_faker() -> Faker:
    """The generator of replies, made on the first generated reply rather than at import (Faker's
    import and first instance cost ~0.2 s of the mock's start; ``comeback serve`` makes it in the
    background once it listens, see ``serving``)."""
    from faker import Faker  # noqa: PLC0415

    return Faker()


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
    """The reply of a resource split into word tokens: the scenario's text, else seeded generated text.

    Made once per resource and kept: the stream and every polled face show this same reply."""
    kept: list[str] | None = resource.extra.get("reply_tokens")
    if kept is not None:
        return kept
    plan = resource.timeline.scenario.stream_plan
    text = plan.text
    if text is None:
        key = f"{seed}:reply:{resource.api}:{resource.id}:{resource.created_at}"
        faker = reply_faker()
        faker.seed_instance(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
        text = faker.paragraph(nb_sentences=3)
        # a generated paragraph may be a single short sentence; a tool call after N tokens
        # (``call_again_after``) needs a reply that goes on after them, or it never happens
        while len(text.split()) <= (plan.call_again_after or 0):
            text += " " + faker.sentence()
    tokens = re.findall(r"\S+\s*", text)
    resource.extra["reply_tokens"] = tokens
    return tokens


def reply_schedule(engine: Engine, resource: Resource, timeline: Timeline) -> Schedule:
    """When each token of ``resource``'s reply is due, as the stream sends them (a timeline projection)."""
    lifecycle = engine.lifecycle(resource.api)
    pace = pace_of(engine.settings.seed, resource)
    cut_short = _ends_in_error(lifecycle, resource)
    if cut_short:
        pace = replace(pace, stretch=2.0)  # the reply would have needed twice as long: about half arrives
    count = len(reply_tokens(engine.settings.seed, resource))
    return schedule(timeline, lifecycle, count, pace, cut_short=cut_short)


def reply_delivered(engine: Engine, resource: Resource) -> str:
    """The part of the reply a stream has delivered by now: what polled faces show as the reply."""
    tokens = reply_tokens(engine.settings.seed, resource)
    timeline = engine.observe(resource)
    kept = resource.extra.get("reply_schedule")
    if kept is None or kept[0] != len(timeline.history):  # a schedule changes only with the timeline
        kept = (len(timeline.history), reply_schedule(engine, resource, timeline))
        resource.extra["reply_schedule"] = kept
    due = kept[1].due(engine.clock.now())
    return "".join(tokens[:due]).rstrip()


def pace_of(seed: int, resource: Resource) -> Pace:
    """How the scenario paces the resource's tokens (jitter seeded per resource)."""
    plan = resource.timeline.scenario.stream_plan
    timing = resource.timeline.scenario.timing  # a recorded server's pace (``comeback record``)
    recorded = timing.stream if timing is not None else None
    return Pace(plan.tokens_per_second, plan.jitter, f"{seed}:pace:{resource.id}", timing=recorded)


def events(
    engine: Engine,
    resource: Resource,
    encoder: Encoder,
    *,
    skip: int = 0,
    live: bool = False,
    fault: Fault | None = None,
    operation: str = "",
) -> Frames:
    """The frames of ``resource``'s stream, tagged by kind, as they become due. ``skip`` tokens were
    seen already (a resume cursor); ``live`` sends only what becomes due after the client connected.
    Faults spoil the stream on purpose: ``fault`` (from a request header) for the whole stream, else
    the fault of each scenario step while it is current (when it applies to ``operation``). The
    resource counts as watched while the frames are being read."""

    def current_fault() -> Fault | None:
        if fault is not None:
            return fault
        step = resource.timeline.current.step
        found = resource.timeline.scenario.steps[step].fault if step is not None else None
        return found if found is not None and found.applies_to(operation) else None

    # faults count and shape single frames; without any, due tokens may go out together, and the
    # frames go straight to the response (each async generator layer costs every frame a hop)
    batch = fault is None and not any(step.fault for step in resource.timeline.scenario.steps)
    frames = _frames(engine, resource, encoder, skip=skip, live=live, batch=batch)
    return frames if batch else _spoiled(frames, current_fault, engine)


class EventStream(Response):
    """An SSE response that sends ``frames`` itself, for thousands of open streams at once.

    Starlette's ``StreamingResponse`` runs every stream in an anyio task group with a second task
    listening for the disconnect (cancel scopes, two tasks, about 3 KiB and a scheduling hop per
    stream). Here the request's own task sends the frames, and one small task waits for
    ``http.disconnect`` and then cancels the sending task, wherever it waits (for its next frame,
    a fault's pause or a slow client): the frames' ``finally`` releases the resource at once."""

    media_type = "text/event-stream"

    def __init__(self, frames: Frames, headers: Mapping[str, str] | None = None):
        self.frames = frames
        self.status_code = 200
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sender = asyncio.current_task()
        assert sender is not None
        gone: list[bool] = []  # set by the listener before it cancels the sender
        listener = asyncio.ensure_future(_cancel_on_disconnect(receive, sender, gone))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            ended = False
            async for kind, text in self.frames:
                ended = kind == "end"  # the response's end goes in the same write as its last frames
                await send({"type": "http.response.body", "body": text.encode(), "more_body": not ended})
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            # our own listener's cancel ends the stream quietly; any other cancel goes on up
            if not gone or sender.uncancel() > 0:
                raise
        finally:
            listener.cancel()
            await self.frames.aclose()  # a generator left waiting at a yield lets go of the resource


async def _cancel_on_disconnect(receive: Receive, sender: asyncio.Task[Any], gone: list[bool]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.append(True)
    sender.cancel()


async def _spoiled(frames: Frames, current_fault: Callable[[], Fault | None], engine: Engine) -> Frames:
    """``frames`` with the fault in effect applied to each (times in real seconds, over ``--speed``;
    a shutdown cuts the waits short and ends the stream)."""
    sent, stalled, malformed = 0, set(), set()
    speed = engine.settings.speed
    try:
        async for kind, text in frames:
            fault = current_fault()
            if fault is None:
                yield kind, text
                sent += 1
                continue
            if fault.stall and id(fault) not in stalled:
                stalled.add(id(fault))
                if not await engine.pause(fault.stall / speed):  # nothing at all, not even keep-alives
                    return
            if kind == "close" and fault.no_terminal:
                return
            if fault.drip and not await engine.pause(fault.drip / speed):
                return
            yield kind, text
            sent += 1
            if fault.malformed and id(fault) not in malformed:
                malformed.add(id(fault))
                yield "token", 'data: {"unterminated": \n\n'  # one frame whose JSON does not parse
            if fault.drop_after is not None and sent >= fault.drop_after:
                return
    finally:
        await frames.aclose()  # the source lets go of the resource now, not when collected


async def _frames(
    engine: Engine, resource: Resource, encoder: Encoder, *, skip: int, live: bool, batch: bool
) -> Frames:
    """Frames tagged by kind; with ``batch``, tokens that are due together come as one item."""
    resource.watchers += 1
    try:
        lifecycle: Lifecycle = engine.lifecycle(resource.api)
        tokens = reply_tokens(engine.settings.seed, resource)
        timeline = engine.observe(resource)
        plan = reply_schedule(engine, resource, timeline)
        planned_for = len(timeline.history)
        sent = max(skip, plan.due(engine.clock.now()) if live else 0)
        opened = False
        while True:
            timeline = engine.observe(resource)
            if resource.extra.get("deleted") or engine.closing:  # deleted, or the server is stopping
                return
            if len(timeline.history) != planned_for:  # the schedule changes only with the timeline
                plan = reply_schedule(engine, resource, timeline)
                planned_for = len(timeline.history)
            terminal = lifecycle.states[timeline.state].terminal
            due = plan.due(engine.clock.now())
            working = not terminal and timeline.state != lifecycle.initial
            out: list[tuple[Kind, str]] = []  # what is due now, in order
            if not opened and (due > sent or working or (terminal and not ended_badly(timeline, lifecycle))):
                opened = True
                out += [("open", opening) for opening in encoder.opening(resource)]
            while sent < due:
                out.append(("token", encoder.token(resource, tokens[sent], sent)))
                sent += 1
            if terminal:
                out += [("close", closing) for closing in encoder.closing(resource, timeline)]
            if batch and out:  # one write for all that is due at once (each write is a system call)
                yield ("end" if terminal else out[-1][0]), "".join(text for _, text in out)
            else:
                for item in out:
                    yield item
            if terminal:
                return
            moments = [m for m in (plan.next_at(sent), timeline.next_change_at()) if m is not None]
            woke = await engine.sleep_until(
                resource, min(moments) if moments else None, idle=engine.settings.keepalive_seconds
            )
            if woke == "idle" and (keepalive := encoder.keepalive(resource)) is not None:
                yield "ping", keepalive
    finally:
        resource.watchers -= 1


def reply_so_far(engine: Engine, resource: Resource) -> tuple[list[str], Schedule]:
    """The reply's tokens and when each is due, as the resource's stream sends them (without faults);
    for watchers that show the text without being a stream client (the dashboard)."""
    return reply_tokens(engine.settings.seed, resource), reply_schedule(engine, resource, resource.timeline)


def _ends_in_error(lifecycle: Lifecycle, resource: Resource) -> bool:
    """Whether the scenario ends the stream with one of the API's error signals (the reply stops there)."""
    end = resource.timeline.scenario.stream_plan.end
    if end is None or lifecycle.stream is None:
        return False
    return any(
        end == signal or (signal.endswith(":") and end.startswith(signal))
        for signal in lifecycle.stream.error_signals
    )

"""The dashboard's routes: the page and its static files, two event streams, and the few admin
calls the page needs that the admin API did not have (cancel, delete, advance to the next change,
check and queue a scenario written in the page).

Event streams are Server-Sent Events framing (``event:`` + ``data:``), read by the page with
``fetch()`` so that it can send ``X-Mock-Admin-Token``:

- ``GET /__mock/events``: ``snapshot`` (everything, first and after a reset or an overflow), then
  ``resources`` (changed rows), ``deleted``, ``journal`` and ``clock``;
- ``GET /__mock/resources/{api}/{id}/events``: ``detail`` (whenever the resource changes), ``text``
  (the stream's reply as it becomes due), ``journal`` (its requests) and ``deleted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lifecycle.errors import SourceError
from lifecycle.scenario import load_scenario
from mockserver.clock import ManualClock
from mockserver.engine import Engine
from mockserver.events import Key, Subscriber
from mockserver.paths import PREFIX
from mockserver.problems import problem
from mockserver.responses import json_text
from mockserver.store import Resource
from mockserver.ui.views import (
    api_view,
    clock_view,
    detail,
    journal_view,
    scenario_source,
    scenario_view,
    scenarios_view,
    stream_text,
    summary,
)

STATIC = Path(__file__).resolve().parent / "static"
KEEPALIVE_SECONDS = 15.0
COALESCE_SECONDS = 0.05  # a burst of changes goes out as one write
SWEEP_SECONDS = 2.0  # how often the list stream looks for resources evicted from the store
JOURNAL_TAIL = 200  # journal entries in a snapshot
MAX_SCENARIO_BYTES = 256 * 1024
# The page loads only its own files; nothing inline, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
STREAM_HEADERS = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}


def frame(event: str, data: Any) -> str:
    """One SSE frame carrying JSON (one line: JSON text never holds a raw newline)."""
    return f"event: {event}\ndata: {json_text(data)}\n\n"


class Dashboard:
    """The dashboard's endpoints, bound to one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- the page ------------------------------------------------------------------------------
    async def page(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    # -- the list stream -------------------------------------------------------------------------
    async def snapshot(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "clock": clock_view(engine),
            "apis": {name: api_view(api.spec.lifecycle) for name, api in engine.catalog.items()},
            "resources": [summary(engine, resource) for resource in await engine.resources()],
            "journal": [journal_view(entry) for entry in (await engine.journal())[-JOURNAL_TAIL:]],
            "scenarios": await scenarios_view(engine),
        }

    async def events(self, request: Request) -> Response:
        return StreamingResponse(self._events(), media_type="text/event-stream", headers=STREAM_HEADERS)

    async def _events(self) -> AsyncIterator[str]:
        engine, loop = self.engine, asyncio.get_running_loop()
        hub = engine.events  # this one, to the end: a reset namespace gets a new hub
        subscriber = await hub.subscribe()
        try:
            known: set[Key] = {(r.api, r.id) for r in await engine.resources()}
            yield frame("snapshot", await self.snapshot())
            swept = loop.time()
            while True:
                woke = await _wait(subscriber, KEEPALIVE_SECONDS)
                if subscriber.closed:
                    return
                if woke:
                    await asyncio.sleep(COALESCE_SECONDS)
                batch = subscriber.take()
                if batch.restart:
                    known = {(r.api, r.id) for r in await engine.resources()}
                    yield frame("snapshot", await self.snapshot())
                    continue
                rows, gone = [], []
                for key, resource in batch.resources.items():
                    if resource is not None and await engine.find(*key) is resource:
                        rows.append(summary(engine, resource))
                        known.add(key)
                    elif key in known:
                        gone.append(key)
                        known.discard(key)
                if loop.time() - swept >= SWEEP_SECONDS:  # evicted by the store's bounds: no event
                    swept = loop.time()
                    present = {(r.api, r.id) for r in await engine.resources()}
                    evicted = [key for key in known if key not in present]
                    gone.extend(evicted)
                    known.difference_update(evicted)
                if rows:
                    yield frame("resources", rows)
                if gone:
                    yield frame("deleted", [{"api": api, "id": rid} for api, rid in gone])
                if batch.journal:
                    entries = [journal_view(entry) for _, entry in batch.journal]
                    yield frame("journal", {"entries": entries, "dropped": batch.journal_dropped})
                if batch.clock:
                    yield frame("clock", clock_view(engine))
                if not woke:
                    yield ": keep-alive\n\n"
        finally:
            hub.unsubscribe(subscriber)

    # -- one resource ------------------------------------------------------------------------------
    async def find(self, request: Request) -> Resource | Response:
        api, resource_id = request.path_params["api"], request.path_params["resource_id"]
        resource = await self.engine.find(api, resource_id)
        if resource is None:
            detail_text = f"no {api} resource {resource_id!r}"
            return problem(404, "No such resource", detail_text, known_apis=sorted(self.engine.catalog))
        return resource

    async def resource_events(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Response):
            return found
        return StreamingResponse(
            self._resource_events(found), media_type="text/event-stream", headers=STREAM_HEADERS
        )

    async def _resource_events(self, resource: Resource) -> AsyncIterator[str]:
        engine = self.engine
        key = (resource.api, resource.id)
        hub = engine.events  # this one, to the end: a reset namespace gets a new hub
        subscriber = await hub.subscribe(only=key)
        streams = engine.lifecycle(resource.api).stream is not None
        try:
            yield frame("detail", detail(engine, resource))
            mine = [journal_view(e) for e in await engine.journal() if (e.api, e.resource_id) == key][
                -JOURNAL_TAIL:
            ]
            yield frame("journal", {"entries": mine, "dropped": 0})
            sent = 0
            while True:
                timeout = KEEPALIVE_SECONDS
                if streams:
                    tokens, due, next_at = stream_text(engine, resource)
                    if due != sent:
                        start = sent if due > sent else 0  # fewer due (a reset): send it all again
                        text = "".join(tokens[start:due])
                        yield frame(
                            "text", {"append": start > 0, "text": text, "due": due, "of": len(tokens)}
                        )
                        sent = due
                    if next_at is not None and not isinstance(engine.clock, ManualClock):
                        wait = (next_at - engine.clock.now()) / engine.settings.speed
                        timeout = min(timeout, max(0.0, wait))
                woke = await _wait(subscriber, timeout)
                if subscriber.closed:
                    return
                batch = subscriber.take()
                if await engine.find(*key) is not resource:
                    yield frame("deleted", {"api": resource.api, "id": resource.id})
                    return
                if key in batch.resources or batch.restart:
                    yield frame("detail", detail(engine, resource))
                if batch.journal:
                    entries = [journal_view(entry) for _, entry in batch.journal]
                    yield frame("journal", {"entries": entries, "dropped": batch.journal_dropped})
                if not woke and timeout == KEEPALIVE_SECONDS:
                    yield ": keep-alive\n\n"
        finally:
            hub.unsubscribe(subscriber)

    async def cancel(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Response):
            return found
        if self.engine.lifecycle(found.api).cancel is None:
            return problem(409, "No cancel", f"the {found.api} lifecycle has no cancel")
        changed = await self.engine.cancel(found)
        return JSONResponse({**summary(self.engine, found), "changed": changed})

    async def delete(self, request: Request) -> Response:
        found = await self.find(request)
        if isinstance(found, Response):
            return found
        await self.engine.delete(found)
        return JSONResponse({"api": found.api, "id": found.id, "deleted": True})

    # -- the clock -------------------------------------------------------------------------------
    async def next_change(self, request: Request) -> Response:
        """Advance the manual clock to the earliest time-driven change of any resource."""
        engine = self.engine
        if not isinstance(engine.clock, ManualClock):
            return problem(409, "Clock is not manual", "start the mock with --clock manual")
        now = engine.clock.now()
        moments = [
            due
            for resource in await engine.resources()
            if not engine.is_done(resource) and (due := resource.timeline.next_change_at()) is not None
        ]
        if not moments:
            return problem(409, "Nothing due", "no resource will change by time alone")
        await engine.advance_clock(max(0.0, min(moments) - now))
        return JSONResponse(clock_view(engine))

    # -- scenarios written in the page -------------------------------------------------------------
    async def scenarios(self, request: Request) -> Response:
        """Scenarios per API with the default and the queue (the admin listing lacks the queue)."""
        return JSONResponse(await scenarios_view(self.engine))

    async def scenario_text(self, request: Request) -> Response:
        api, name = request.path_params["api"], request.path_params["name"]
        scenarios = self.engine.catalog[api].scenarios if api in self.engine.catalog else {}
        if name not in scenarios:
            return problem(404, "Unknown scenario", f"{name!r} is not a scenario of {api}")
        return JSONResponse({"api": api, "name": name, "text": scenario_source(scenarios[name])})

    async def check_scenario(self, request: Request) -> Response:
        """Check YAML text exactly as a file is checked: ``{"name", "text"}`` -> findings or steps."""
        checked = await self._checked(request)
        if isinstance(checked, Response):
            return checked
        _, scenario, findings = checked
        if scenario is None:
            return JSONResponse({"ok": False, "findings": findings})
        return JSONResponse({"ok": True, "findings": [], "scenario": scenario_view(scenario)})

    async def queue_scenario(self, request: Request) -> Response:
        """Check YAML text and, when it is clean, queue it for the API's next resource."""
        checked = await self._checked(request)
        if isinstance(checked, Response):
            return checked
        api, scenario, findings = checked
        if scenario is None:
            return problem(400, "Invalid scenario", f"{len(findings)} problem(s)", findings=findings)
        await self.engine.queue_scenario(api, scenario)
        return JSONResponse({"api": api, "queued": await self.engine.book.queued(self.engine.namespace, api)})

    async def _checked(self, request: Request) -> tuple[str, Any, list[dict[str, Any]]] | Response:
        api = request.path_params["api"]
        if api not in self.engine.catalog:
            return problem(404, "Unknown API", f"no API {api!r}", known_apis=sorted(self.engine.catalog))
        raw = await request.body()
        if len(raw) > MAX_SCENARIO_BYTES:
            return problem(413, "Too large", f"a scenario is at most {MAX_SCENARIO_BYTES} bytes")
        try:
            body = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return problem(400, "Bad request", 'send {"name": "...", "text": "<scenario YAML>"}')
        name = body.get("name") if isinstance(body.get("name"), str) and body.get("name") else "edited"
        try:
            lifecycle = self.engine.lifecycle(api)
            # off the event loop: a hostile text must not hold up the other clients while it is refused
            scenario = await run_in_threadpool(
                load_scenario, body["text"], f"{name}.yaml", lifecycle, api=api
            )
        except SourceError as error:
            findings = [f.as_dict() for f in error.findings]
            return api, None, findings
        return api, scenario, []

    def routes(self) -> list[BaseRoute]:
        resource = f"{PREFIX}/resources/{{api}}/{{resource_id}}"
        return [
            Route(f"{PREFIX}/ui", self.page, methods=["GET"]),
            Route(f"{PREFIX}/ui/", self.page, methods=["GET"]),
            Mount(f"{PREFIX}/ui/static", StaticFiles(directory=STATIC), name="dashboard-static"),
            Route(f"{PREFIX}/events", self.events, methods=["GET"]),
            Route(f"{resource}/events", self.resource_events, methods=["GET"]),
            Route(f"{resource}/cancel", self.cancel, methods=["POST"]),
            Route(resource, self.delete, methods=["DELETE"]),
            Route(f"{PREFIX}/clock/next-change", self.next_change, methods=["POST"]),
            Route(f"{PREFIX}/ui/scenarios", self.scenarios, methods=["GET"]),
            Route(f"{PREFIX}/ui/scenarios/{{api}}/{{name}}", self.scenario_text, methods=["GET"]),
            Route(f"{PREFIX}/ui/scenarios/{{api}}/check", self.check_scenario, methods=["POST"]),
            Route(f"{PREFIX}/ui/scenarios/{{api}}/queue", self.queue_scenario, methods=["POST"]),
        ]


async def _wait(subscriber: Subscriber, timeout: float) -> bool:
    """Wait until the subscriber has something, or ``timeout`` real seconds; True if it has."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(subscriber.wake.wait(), timeout)
        return True
    return False

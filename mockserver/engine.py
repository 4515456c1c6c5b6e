"""The engine: created resources walking their scenarios, on one clock, with commands and callbacks.

Handlers stay thin by calling these methods; everything that changes a resource goes through here,
so the status endpoint, the stream and the callback of a resource all read one timeline.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import random
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lifecycle.errors import ComebackError
from lifecycle.expressions import parse_expression
from lifecycle.findings import closest
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario
from lifecycle.timeline import Timeline, advance, cancel, count_read, force_next, start
from mockserver.catalog import Api
from mockserver.clock import Clock, ManualClock
from mockserver.events import EventHub
from mockserver.journal import Journal, credential_names
from mockserver.masking import Masker
from mockserver.render import Renderer, iso
from mockserver.safejson import finite
from mockserver.settings import Settings
from mockserver.store import Resource, Store
from mockserver.wakeups import WakeUps

if TYPE_CHECKING:  # imported where used: only callbacks need it, and it costs ~0.2 s at start
    import httpx

log = logging.getLogger("comeback.mock")
CALLBACK_ANSWER_BYTES = 64 * 1024  # of a callback's answer read (and dropped); the rest is not read
MAX_ADVANCE_SECONDS = 366 * 86_400  # one call moves the manual clock at most a year
CLOCK_LIMIT = 221_845_392_000.0  # 9000-01-01: far enough from year 9999 that every timestamp renders


# RFC 4122 variant bits (10) and version 4, set as uuid.UUID(..., version=4) sets them
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


class ClockError(ComebackError, ValueError):
    """A clock advance that is not a finite, bounded, non-negative number of seconds."""


class UnknownScenarioError(ComebackError, LookupError):
    """The create call named a scenario this API does not have."""

    def __init__(self, api: str, name: str, known: list[str]) -> None:
        self.known = known
        close = closest(name, known)
        hint = f"; did you mean {close!r}?" if close else ""
        super().__init__(f"unknown scenario {name!r} for {api}; known scenarios: {', '.join(known)}{hint}")


class Engine:
    """All mutable state of one mock server."""

    def __init__(self, settings: Settings, catalog: Mapping[str, Api], clock: Clock) -> None:
        self.settings = settings
        # a copy: hot reload and PUT /__mock/scenarios swap one API's entry (a catalog may be shared)
        self.catalog = dict(catalog)
        self.file_apis = dict(catalog)  # each API as its files make it (hot reload keeps this current)
        self.put_scenarios: dict[str, dict[str, Scenario]] = {}  # PUT /__mock/scenarios, over the files
        self.clock = clock
        self.store = Store(settings.max_resources, settings.max_age_seconds)
        secret_headers, secret_query = credential_names(api.spec.data for api in catalog.values())
        self.journal = Journal(
            settings.journal_size,
            settings.journal_bytes,
            settings.journal_value_bytes,
            settings.journal_body_bytes,
            Masker(secret_headers, secret_query),
        )
        self.events = EventHub(clock, self.store, settings.speed)  # live feed for the dashboard
        self.journal.on_record = self.events.journal_recorded
        self.journal.listening = lambda: bool(self.events.subscribers)
        self.defaults = {name: api.default for name, api in catalog.items()}
        self.queued: dict[str, deque[Scenario]] = {}
        self.renderers = {name: Renderer(api.spec, settings.seed) for name, api in catalog.items()}
        self.vendor_state: dict[str, dict[str, Any]] = {name: {} for name in catalog}  # e.g. Chatzy's tokens
        # ids and tokens come from the seed too, so a replayed session (a test, a Hypothesis example)
        # meets the same ids and therefore the same fake data
        self._ids = random.Random(settings.seed)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._sleepers: set[asyncio.Future[str]] = set()  # every task waiting in sleep_until or pause
        self._wakeups: dict[asyncio.AbstractEventLoop, WakeUps] = {}  # their timers, shared, per loop
        self.closing = False  # the process is shutting down: streams end, nothing new waits

    def begin_shutdown(self) -> None:
        """End every wait at once (call on the event loop): open streams close within a moment."""
        self.closing = True
        for waiter in list(self._sleepers):
            _settle(waiter, "shutdown")
        self.events.close()  # the dashboard's event streams end too

    def new_uuid(self) -> str:
        """A version-4 UUID drawn from the mock's seed: ``str(uuid.UUID(int=bits, version=4))``,
        written out directly (the ``UUID`` object costs more than the rest of minting an id)."""
        bits = self._ids.getrandbits(128) & _UUID_KEEP | _UUID_V4
        text = f"{bits:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    def new_token(self, size: int = 32) -> str:
        """URL-safe random text drawn from the mock's seed."""
        return base64.urlsafe_b64encode(self._ids.randbytes(size)).rstrip(b"=").decode()

    def lifecycle(self, api: str) -> Lifecycle:
        return self.catalog[api].spec.lifecycle

    # -- scenarios ------------------------------------------------------------------------------
    def queue_scenario(self, api: str, scenario: Scenario) -> None:
        """Walk ``scenario`` with the next resource created on ``api`` (queued ones go in order)."""
        self.queued.setdefault(api, deque()).append(scenario)

    def choose_scenario(self, api: str, requested: str | None, body: Any) -> Scenario:
        """The header's scenario, else a queued one, else the first whose trigger text is in the body,
        else the default."""
        scenarios = self.catalog[api].scenarios
        if not requested and self.queued.get(api):
            return self.queued[api].popleft()
        if requested:
            if requested not in scenarios:
                raise UnknownScenarioError(api, requested, sorted(scenarios))
            return scenarios[requested]
        matched = self.catalog[api].choose_by_trigger(body)
        return matched or scenarios[self.defaults[api]]

    # -- resources --------------------------------------------------------------------------------
    def create(
        self, api: str, resource_id: str, scope: dict[str, str], body: Any, scenario: Scenario
    ) -> Resource:
        now = self.clock.now()
        resource = Resource(api, resource_id, scope, scenario.name, start(scenario, now), body, now)
        naive = {
            field
            for deviation in self.lifecycle(api).deviations
            if deviation.kind == "naive-datetime" and deviation.name in scenario.deviations
            for field in deviation.effect["fields"]
        }
        if naive:
            resource.extra["naive_fields"] = naive
        self.store.add(resource, now, self.is_done)
        self._start_callback(resource)
        self.events.resource_changed(resource)
        return resource

    def find(self, api: str, resource_id: str) -> Resource | None:
        return self.store.get(api, resource_id)

    def look(self, resource: Resource) -> Timeline:
        """The timeline at the clock's now, without counting as a client's use (admin listings)."""
        return self._advance(resource, self.clock.now())

    def observe(self, resource: Resource) -> Timeline:
        """The resource's timeline at the clock's now (kept, so later looks start from here)."""
        now = self.clock.now()
        resource.touched_at = now
        return self._advance(resource, now)

    def _advance(self, resource: Resource, now: float) -> Timeline:
        """To ``now``; a step this look sees first (a stream's, before the hub's scheduler) is published."""
        before = len(resource.timeline.history)
        resource.timeline = advance(resource.timeline, now)
        if len(resource.timeline.history) != before:
            self.events.resource_changed(resource)
        return resource.timeline

    def count_read(self, resource: Resource) -> None:
        before = resource.timeline.state
        resource.timeline = count_read(resource.timeline, self.clock.now())
        if resource.timeline.state != before:
            resource.notify()
        self.events.resource_changed(resource)

    def cancel(self, resource: Resource) -> bool:
        """Cancel the resource; True when its state changed (False: it was already terminal)."""
        before = len(resource.timeline.history)
        resource.timeline = cancel(resource.timeline, self.clock.now(), self.lifecycle(resource.api))
        changed = len(resource.timeline.history) != before
        if changed:
            resource.notify()
            self.events.resource_changed(resource)
        return changed

    def force_next(self, resource: Resource) -> None:
        resource.timeline = force_next(resource.timeline, self.clock.now())
        resource.notify()
        self.events.resource_changed(resource)

    def delete(self, resource: Resource) -> None:
        lifecycle = self.lifecycle(resource.api)
        if lifecycle.delete is not None and lifecycle.delete.cancels_first and lifecycle.cancel is not None:
            self.cancel(resource)
        self.store.remove(resource)
        resource.extra["deleted"] = True
        resource.notify()
        self.events.resource_deleted(resource)

    def is_terminal(self, resource: Resource) -> bool:
        return self.lifecycle(resource.api).states[resource.timeline.state].terminal

    def is_done(self, resource: Resource) -> bool:
        """Terminal at the clock's now (used by eviction, which must not count as a client's look)."""
        self._advance(resource, self.clock.now())
        return self.is_terminal(resource)

    def advance_clock(self, seconds: Any) -> float:
        """Move the manual clock; ``ClockError`` (and nothing changed) unless ``seconds`` is a finite
        number from 0 to a year that keeps the clock before 9000-01-01."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("the clock is not manual; start the mock with --clock manual")
        if not finite(seconds) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ClockError(
                f'send {{"seconds": N}} with N a number from 0 to {MAX_ADVANCE_SECONDS} (366 days)'
            )
        if self.clock.now() + seconds > CLOCK_LIMIT:
            raise ClockError("the clock would pass 9000-01-01; reset or restart the mock instead")
        now = self.clock.advance(float(seconds))
        self.events.clock_moved()
        return now

    async def reset(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.store.clear()
        self.journal.clear()
        for state in self.vendor_state.values():
            state.clear()
        self._ids.seed(self.settings.seed)
        self.defaults = {name: api.default for name, api in self.catalog.items()}
        self.queued.clear()
        self.events.reset()

    async def close(self) -> None:
        await self.reset()
        if self._client is not None:
            await self._client.aclose()

    # -- waiting --------------------------------------------------------------------------------------
    async def sleep_until(self, resource: Resource, moment: float | None, idle: float | None = None) -> str:
        """Sleep until ``moment`` on the mock's clock ("due"), until a command changes ``resource``
        ("changed"), or for ``idle`` real seconds ("idle"), whichever comes first. One future in
        shared millisecond slots (``WakeUps``): thousands of open streams wait this way at once."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        if self.closing:
            return "shutdown"
        resource.waiters.append(waiter)
        self._sleepers.add(waiter)
        wakeups = self.wakeups(loop)
        slots = []
        delay = None
        if moment is not None:
            if isinstance(self.clock, ManualClock):
                self.clock.resolve_at(moment, waiter, "due")
            else:
                delay = max(0.0, (moment - self.clock.now()) / self.settings.speed)
                slots.append(wakeups.after(delay, waiter, "due"))
        if idle is not None and (delay is None or delay >= idle):  # else "due" always comes first
            slots.append(wakeups.after(idle, waiter, "idle"))
        try:
            return await waiter
        finally:
            for slot in slots:
                wakeups.forget(slot, waiter)
            self._sleepers.discard(waiter)
            if waiter in resource.waiters:
                resource.waiters.remove(waiter)

    async def pause(self, seconds: float) -> bool:
        """Sleep ``seconds`` real seconds (a fault's delay); False when cut short by shutdown."""
        if self.closing:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        self._sleepers.add(waiter)
        wakeups = self.wakeups(loop)
        slot = wakeups.after(seconds, waiter, "due")
        try:
            return await waiter == "due"
        finally:
            wakeups.forget(slot, waiter)
            self._sleepers.discard(waiter)

    def wakeups(self, loop: asyncio.AbstractEventLoop) -> WakeUps:
        """The shared timers of the waits on ``loop`` (tests may serve one engine from several loops)."""
        found = self._wakeups.get(loop)
        if found is None:
            for closed in [known for known in self._wakeups if known.is_closed()]:
                del self._wakeups[closed]
            found = self._wakeups[loop] = WakeUps(loop)
        return found

    # -- callbacks ------------------------------------------------------------------------------
    def _start_callback(self, resource: Resource) -> None:
        callback = self.lifecycle(resource.api).callback
        if callback is None:
            return
        url = parse_expression(callback.url).evaluate(request_body=resource.request)
        if not isinstance(url, str) or not url:
            return
        resource.watchers += 1
        task = asyncio.get_running_loop().create_task(self._deliver_callback(resource, url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def callback_refusal(self, url: str) -> str | None:
        """Why a callback to ``url`` may not be sent (None: it may). Loopback hosts only, unless
        ``--callback-host`` allowed more ("*": any)."""
        import httpx  # noqa: PLC0415

        try:
            parsed = httpx.URL(url)
            host = parsed.host
        except (httpx.InvalidURL, ValueError, TypeError) as error:
            return f"not a usable URL: {error}"
        if parsed.scheme not in ("http", "https"):
            return f"scheme {parsed.scheme!r} is not http or https"
        if not host:
            return "the URL names no host"
        if parsed.port is not None and not 0 < parsed.port < 65536:
            return f"port {parsed.port} is out of range"
        allowed = self.settings.callback_hosts
        if "*" not in allowed and host.lower() not in allowed:
            shown = ", ".join(sorted(allowed)) or "none"
            return f"host {host!r} is not allowed (allowed: {shown}; widen with --callback-host)"
        return None

    async def _deliver_callback(self, resource: Resource, url: str) -> None:
        """Wait for the first terminal state, then POST once (no retry), and record the outcome.
        Nothing a client sends can make this task fail: every error becomes ``callback_error``."""
        try:
            while not self.is_done(resource):
                if resource.extra.get("deleted") or self.closing:
                    return
                await self.sleep_until(resource, resource.timeline.next_change_at())
            await self._post_callback(resource, url)
            self.events.resource_changed(resource)  # the callback's outcome is part of the resource
        except Exception as error:  # a bug or a hostile URL must not leave callback_* unexplained
            self._callback_outcome(resource, url, None, f"callback failed: {type(error).__name__}: {error}")
        finally:
            resource.watchers -= 1

    async def _post_callback(self, resource: Resource, url: str) -> None:
        refusal = self.callback_refusal(url)
        if refusal is not None:
            self._callback_outcome(resource, url, None, f"callback not sent: {refusal}")
            return
        lifecycle = self.lifecycle(resource.api)
        assert lifecycle.callback is not None
        renderer = self.renderers[resource.api]
        timeline = resource.timeline
        values = renderer.field_values(resource, timeline)
        completed = lifecycle.timestamps.get("completed")
        payload = {
            "run_id": resource.id,
            "status": values.get("status"),
            "completed_at": values.get(completed) if completed else iso(timeline.current.at),
            "metadata": resource.extra.get("metadata", {}),
        }
        import httpx  # noqa: PLC0415

        if self._client is None:  # no environment proxies: a loopback callback must stay on loopback
            self._client = httpx.AsyncClient(trust_env=False)
        sent_at = self.clock.now()
        timeout = lifecycle.callback.timeout_seconds
        try:  # the answer is read as a stream, at most CALLBACK_ANSWER_BYTES of it, then dropped
            async with self._client.stream("POST", url, json=payload, timeout=timeout) as response:
                async with asyncio.timeout(timeout):  # a dripping answer cannot hold the task either
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= CALLBACK_ANSWER_BYTES:
                            break
        except TimeoutError:
            pass  # the status came in time; the rest of the answer is not waited for
        except httpx.HTTPError as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            self._callback_outcome(resource, url, None, f"callback failed: {reason}")
            return
        self._callback_outcome(resource, url, response.status_code, None, sent_at)

    def _callback_outcome(
        self,
        resource: Resource,
        url: str,
        status: int | None,
        error: str | None,
        sent_at: float | None = None,
    ) -> None:
        """Record what became of a callback (``callback_*`` fields) and log it, URL without query."""
        resource.extra["callback"] = {"sent_at": sent_at, "status_code": status, "error": error}
        shown = _url_for_log(url)
        if error is None:
            log.info("callback for %s %s to %s: sent, answered %s", resource.api, resource.id, shown, status)
        else:
            log.warning("callback for %s %s to %s: %s", resource.api, resource.id, shown, error)


def _url_for_log(url: str) -> str:
    """The URL without user info, query or fragment (they may carry credentials)."""
    import httpx  # noqa: PLC0415

    try:
        parsed = httpx.URL(url)
        port = f":{parsed.port}" if parsed.port is not None else ""
        return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"[:200]
    except (httpx.InvalidURL, ValueError, TypeError):
        return repr(url[:100])


def _settle(waiter: asyncio.Future[str], value: str) -> None:
    if not waiter.done():
        waiter.set_result(value)

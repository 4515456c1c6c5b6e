"""The engine: created resources walking their scenarios, on one clock per namespace, with commands.

Handlers stay thin by calling these methods; everything that changes a resource goes through here,
so the status endpoint, the stream and the callback of a resource all read one timeline. What the
mock remembers lives in the state store (``mockserver.state``); which scenario a resource walks is
the scenario book's (``mockserver.scenario_book``); callbacks are ``mockserver.callbacks``'. Methods
that may need a round trip to a shared store are coroutines; reading a clock or computing a
timeline from a resource this process holds is not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from lifecycle.errors import ComebackError
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario
from lifecycle.timeline import Timeline, advance, cancel, count_read, force_next, start
from mockserver.callbacks import Callbacks
from mockserver.catalog import Api
from mockserver.clock import Clock, Clocks, ManualClock
from mockserver.draws import Draws
from mockserver.events import EventHub
from mockserver.journal import JournalEntry, credential_names
from mockserver.masking import Masker
from mockserver.render import Renderer
from mockserver.safejson import finite
from mockserver.scenario_book import ScenarioBook
from mockserver.settings import Settings
from mockserver.state.base import Change, Command, StateStore, StoreUnavailableError
from mockserver.state.choose import make_store
from mockserver.state.memory import MemoryStore
from mockserver.state.namespaces import CURRENT_NAMESPACE, DEFAULT_NAMESPACE, namespace_problem
from mockserver.store import Resource
from mockserver.wakeups import Waits

MAX_ADVANCE_SECONDS = 366 * 86_400  # one call moves the manual clock at most a year
CLOCK_LIMIT = 221_845_392_000.0  # 9000-01-01: far enough from year 9999 that every timestamp renders
MAX_NAMESPACES = 1_000  # namespaces one process keeps apart (each costs a seeded id generator)


class ClockError(ComebackError, ValueError):
    """A clock advance that is not a finite, bounded, non-negative number of seconds."""


class Engine:
    """The mock's behaviour over its state: resources, clocks, scenario choice, waits."""

    def __init__(
        self, settings: Settings, catalog: Mapping[str, Api], clock: Clock, state: StateStore | None = None
    ) -> None:
        self.settings = settings
        secret_headers, secret_query = credential_names(api.spec.data for api in catalog.values())
        self.masker = Masker(secret_headers, secret_query)
        self.state = state if state is not None else make_store(settings.store, settings, self.masker)
        if isinstance(self.state, MemoryStore):  # eviction keeps what is unfinished at the clock's now
            self.state.is_done = self.is_done
            self.state.resources_by_key.now_of = self.now_of
            self.state.journal_entries.on_record = self._journal_recorded
            # per request: the empty dict (nobody watches) answers before any generator is made
            self.state.journal_entries.listening = lambda: (
                bool(self._hubs) and any(hub.subscribers for hub in self._hubs.values())
            )
        self.state.on_change(self._on_change)
        self.book = ScenarioBook(catalog, self.state)
        self.clocks = Clocks(clock)
        self.renderers = {name: Renderer(api.spec, settings.seed) for name, api in catalog.items()}
        self.callbacks = Callbacks(self)
        self._hubs: dict[str, EventHub] = {}  # the dashboard's live feed, per namespace watched
        self.draws = Draws(settings.seed, lambda: self.state.salt)  # ids and tokens, per namespace
        self._known = {DEFAULT_NAMESPACE}
        self.waits = Waits(self.clocks, settings.speed)
        self.sleep_until, self.pause = self.waits.sleep_until, self.waits.pause

    async def open(self) -> None:
        """Connect the store (a shared one: the clock's start and this process's salt come from it)."""
        await self.state.open(self.lifecycle)
        self.clocks.rebase(await self.state.clock_start(self.clocks.start))
        if self.clocks.manual:  # where other processes have moved the default namespace's clock
            self.clocks.set_offset(DEFAULT_NAMESPACE, await self.state.clock_offset(DEFAULT_NAMESPACE))

    def begin_shutdown(self) -> None:
        """End every wait at once (call on the event loop): open streams close within a moment."""
        self.waits.shutdown()
        for hub in self._hubs.values():
            hub.close()  # the dashboard's event streams end too

    @property
    def closing(self) -> bool:
        """The process is shutting down: streams end, nothing new waits."""
        return self.waits.closing

    async def close(self) -> None:
        await self.callbacks.close()
        await self.state.close()

    # -- namespaces -----------------------------------------------------------------------------------
    @property
    def namespace(self) -> str:
        """The namespace of the request being served."""
        return CURRENT_NAMESPACE.get()

    async def enter(self, namespace: str) -> str | None:
        """Serve the rest of this request (task) in ``namespace``; why not (None: done). A
        namespace new to this process reads its clock's offset first (another may have moved it)."""
        if namespace not in self._known:
            problem = namespace_problem(namespace)
            if problem is not None:
                return problem
            if len(self._known) >= MAX_NAMESPACES:
                return (
                    f"{MAX_NAMESPACES} namespaces are in use; reset one (POST /__mock/reset?namespace=NAME)"
                )
            self._known.add(namespace)
            if self.clocks.manual:
                self.clocks.set_offset(namespace, await self.state.clock_offset(namespace))
        CURRENT_NAMESPACE.set(namespace)
        return None

    @property
    def clock(self) -> Clock:
        """The clock of the request's namespace."""
        return self.clocks.of(CURRENT_NAMESPACE.get())

    def now_of(self, resource: Resource) -> float:
        """Its namespace clock's reading (several per request: the shared clock without ``Clocks.of``)."""
        clocks = self.clocks
        if clocks.manual and resource.namespace != DEFAULT_NAMESPACE:
            return clocks.of(resource.namespace).now()
        return clocks.base.now()

    @property
    def catalog(self) -> Mapping[str, Api]:
        """The served APIs (read-only: the scenario book changes them)."""
        return self.book.served

    def lifecycle(self, api: str) -> Lifecycle:
        return self.book.lifecycle(api)

    def render_with(self, api: Api) -> None:
        """Render ``api``'s bodies from its (changed) spec from now on."""
        self.renderers[api.name] = Renderer(api.spec, self.settings.seed)

    def new_uuid(self) -> str:
        """A version-4 UUID drawn from the mock's seed (``Draws.uuid``) in the request's namespace."""
        return self.draws.uuid(CURRENT_NAMESPACE.get())

    def new_token(self, size: int = 32) -> str:
        """URL-safe random text drawn from the mock's seed in the request's namespace."""
        return self.draws.token(CURRENT_NAMESPACE.get(), size)

    # -- scenarios ------------------------------------------------------------------------------
    async def queue_scenario(self, api: str, scenario: Scenario) -> None:
        """Walk ``scenario`` with the next resource created on ``api`` (queued ones go in order)."""
        await self.book.queue(CURRENT_NAMESPACE.get(), api, scenario)

    async def choose_scenario(self, api: str, requested: str | None, body: Any) -> Scenario:
        """The header's scenario, else a queued one, else the first whose trigger text is in the body,
        else the default (``UnknownScenarioError`` for an unknown name)."""
        return await self.book.choose(CURRENT_NAMESPACE.get(), api, requested, body)

    # -- resources --------------------------------------------------------------------------------
    async def create(
        self,
        api: str,
        resource_id: str,
        scope: dict[str, str],
        body: Any,
        scenario: Scenario,
        *,
        prepare: Callable[[Resource], None] | None = None,
    ) -> Resource:
        """A new resource walking ``scenario``; ``prepare`` adds vendor data before it is kept."""
        namespace = CURRENT_NAMESPACE.get()
        now = self.clocks.of(namespace).now()
        resource = Resource(
            api, resource_id, scope, scenario.name, start(scenario, now), body, now, namespace
        )
        naive = scenario.deviations and {  # most scenarios name no deviation: nothing to walk
            field
            for deviation in self.lifecycle(api).deviations
            if deviation.kind == "naive-datetime" and deviation.name in scenario.deviations
            for field in deviation.effect["fields"]
        }
        if naive:
            resource.extra["naive_fields"] = naive
        if prepare is not None:
            prepare(resource)
        await self.state.add(resource)
        self.callbacks.start(resource)
        self.changed(resource)
        return resource

    # the pass-throughs below hand back the store's awaitable: no coroutine of their own per request
    def find(self, api: str, resource_id: str) -> Awaitable[Resource | None]:
        return self.state.get(CURRENT_NAMESPACE.get(), api, resource_id)

    def held(self, api: str, resource_id: str) -> Resource | None:
        """The resource if this process holds it up to date (``StateStore.held``): no coroutine."""
        return self.state.held(CURRENT_NAMESPACE.get(), api, resource_id)

    def resources(self, api: str | None = None) -> Awaitable[list[Resource]]:
        """The namespace's resources (of ``api``), oldest first."""
        return self.state.resources(CURRENT_NAMESPACE.get(), api)

    def look(self, resource: Resource) -> Timeline:
        """The timeline at the clock's now, without counting as a client's use (admin listings)."""
        return self._advance(resource, self.now_of(resource))

    def observe(self, resource: Resource) -> Timeline:
        """The resource's timeline at the clock's now (kept, so later looks start from here)."""
        now = resource.touched_at = self.now_of(resource)
        return self._advance(resource, now)

    def _advance(self, resource: Resource, now: float) -> Timeline:
        """To ``now``; a step this look sees first (a stream's, before the hub's scheduler) is published."""
        timeline = advance(resource.timeline, now)
        if timeline is not resource.timeline:  # a step began (``advance`` returns the same object if none)
            resource.timeline = timeline
            self.changed(resource)
        return timeline

    async def count_read(self, resource: Resource) -> None:
        before = resource.timeline.state
        now = self.now_of(resource)
        resource.timeline = count_read(resource.timeline, now)
        if self.state.shared:  # a store that is not shared holds this very object: nothing to keep
            await self.state.command(resource, Command("read", now))
        if resource.timeline.state != before:
            resource.notify()
        self.changed(resource)

    async def cancel(self, resource: Resource) -> bool:
        """Cancel the resource; True when its state changed (False: it was already terminal)."""
        before = len(resource.timeline.history)
        now = self.now_of(resource)
        resource.timeline = cancel(resource.timeline, now, self.lifecycle(resource.api))
        changed = len(resource.timeline.history) != before
        if changed:
            await self.state.command(resource, Command("cancel", now))
            resource.notify()
            self.changed(resource)
        return changed

    async def force_next(self, resource: Resource) -> None:
        now = self.now_of(resource)
        resource.timeline = force_next(resource.timeline, now)
        await self.state.command(resource, Command("force", now))
        resource.notify()
        self.changed(resource)

    async def delete(self, resource: Resource) -> None:
        lifecycle = self.lifecycle(resource.api)
        if lifecycle.delete is not None and lifecycle.delete.cancels_first and lifecycle.cancel is not None:
            await self.cancel(resource)
        await self.state.command(resource, Command("delete", self.now_of(resource)))
        await self.forget(resource)

    async def forget(self, resource: Resource) -> None:
        """Drop ``resource`` (deleted, or replaced by a new one under its id): its waiters wake."""
        await self.state.remove(resource)
        resource.extra["deleted"] = True
        resource.notify()
        hub = self._hubs.get(resource.namespace)
        if hub is not None:
            hub.resource_deleted(resource)

    def is_terminal(self, resource: Resource) -> bool:
        return self.lifecycle(resource.api).states[resource.timeline.state].terminal

    def is_done(self, resource: Resource) -> bool:
        """Terminal at the clock's now (used by eviction, which must not count as a client's look)."""
        self._advance(resource, self.now_of(resource))
        return self.is_terminal(resource)

    async def advance_clock(self, seconds: Any) -> float:
        """Move the namespace's manual clock; ``ClockError`` (and nothing changed) unless ``seconds``
        is a finite number from 0 to a year that keeps the clock before 9000-01-01."""
        namespace = CURRENT_NAMESPACE.get()
        clock = self.clocks.of(namespace)
        if not isinstance(clock, ManualClock):
            raise TypeError("the clock is not manual; start the mock with --clock manual")
        if not finite(seconds) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ClockError(
                f'send {{"seconds": N}} with N a number from 0 to {MAX_ADVANCE_SECONDS} (366 days)'
            )
        if clock.now() + seconds > CLOCK_LIMIT:
            raise ClockError("the clock would pass 9000-01-01; reset or restart the mock instead")
        offset = await self.state.advance_clock(namespace, float(seconds))
        now = self.clocks.set_offset(namespace, offset)
        self._clock_moved(namespace)
        return now

    async def reset(self) -> None:
        """Forget the namespace's resources, journal, queue, defaults and vendor data (another
        namespace than the default one: its clock too)."""
        namespace = CURRENT_NAMESPACE.get()
        if namespace != DEFAULT_NAMESPACE:  # its clock goes: end what waits on it
            for resource in await self.state.resources(namespace):
                resource.extra["deleted"] = True
                resource.notify()
        await self.state.reset(namespace)
        self._forget_local(namespace)

    def _forget_local(self, namespace: str) -> None:
        self.callbacks.cancel(namespace)
        self.draws.forget(namespace)
        if namespace == DEFAULT_NAMESPACE:
            if (hub := self._hubs.get(namespace)) is not None:
                hub.reset()  # its pages start over from a snapshot
            return
        # another namespace starts over entirely, its clock too: it is as if never used
        self._known.discard(namespace)
        self.clocks.forget(namespace)
        if (hub := self._hubs.pop(namespace, None)) is not None:
            hub.close()  # its pages reconnect, to a hub on the new clock

    # -- journal ------------------------------------------------------------------------------------
    def record(self, entry: JournalEntry) -> Awaitable[None]:
        return self.state.append_journal(entry.namespace, entry)

    def journal(self) -> Awaitable[list[JournalEntry]]:
        return self.state.journal(CURRENT_NAMESPACE.get())

    def clear_journal(self) -> Awaitable[None]:
        return self.state.clear_journal(CURRENT_NAMESPACE.get())

    def journal_length(self) -> Awaitable[int]:
        return self.state.journal_length(CURRENT_NAMESPACE.get())

    # -- live feed ----------------------------------------------------------------------------------
    @property
    def events(self) -> EventHub:
        """The dashboard's live feed of the request's namespace."""
        namespace = CURRENT_NAMESPACE.get()
        hub = self._hubs.get(namespace)
        if hub is None:
            hub = self._hubs[namespace] = EventHub(
                self.clocks.of(namespace), self.state, namespace, self.settings.speed
            )
        return hub

    def changed(self, resource: Resource) -> None:
        """Tell the dashboard (if it watches the resource's namespace) that ``resource`` changed."""
        hub = self._hubs.get(resource.namespace)
        if hub is not None:
            hub.resource_changed(resource)

    def _journal_recorded(self, entry: JournalEntry) -> None:
        hub = self._hubs.get(entry.namespace)
        if hub is not None:
            hub.journal_recorded(entry)

    def _clock_moved(self, namespace: str) -> None:
        hub = self._hubs.get(namespace)
        if hub is not None:
            hub.clock_moved()

    def _on_change(self, change: Change) -> None:
        """Another process changed shared state: wake what waits here as a local change would."""
        watched = (change.namespace or DEFAULT_NAMESPACE) in self._hubs
        if change.kind == "resource" and change.resource is None and not watched:
            return  # every create of every instance: no copy here to wake and no dashboard to tell
        task = asyncio.get_running_loop().create_task(self._take_change(change))
        self.callbacks.keep(task)

    async def _take_change(self, change: Change) -> None:
        namespace = change.namespace or DEFAULT_NAMESPACE
        resource = change.resource
        if change.kind == "resource" and resource is None and namespace in self._hubs and change.api:
            try:  # made by another process and not held here: a dashboard watching shows it too
                resource = await self.state.get(namespace, change.api, change.resource_id or "")
            except StoreUnavailableError:
                return
        if change.kind == "resource" and resource is not None:
            resource.notify()
            self.changed(resource)
        elif change.kind == "deleted" and resource is not None:
            resource.extra["deleted"] = True
            resource.notify()
            if (hub := self._hubs.get(namespace)) is not None:
                hub.resource_deleted(resource)
        elif change.kind == "clock" and self.clocks.manual:
            self.clocks.set_offset(namespace, await self.state.clock_offset(namespace))
            self._clock_moved(namespace)
        elif change.kind == "reset":
            self._forget_local(namespace)
        elif change.kind == "uploads":
            await self.book.sync_uploads()

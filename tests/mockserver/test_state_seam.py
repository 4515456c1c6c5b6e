"""The state seam carries enough for a network store: a timeline replayed from the record and the
commands a store was told equals the one the engine holds; the memory store keeps its bounds."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from comeback.testing import START, bundled_catalog
from lifecycle.timeline import Timeline
from mockserver.clock import ManualClock
from mockserver.engine import Engine
from mockserver.journal import JournalEntry
from mockserver.masking import Masker
from mockserver.state.base import Change, Command, StateStore, replay
from mockserver.state.memory import VENDOR_MEMORY, MemoryStore
from mockserver.store import Resource
from tests.mockserver.conftest import settings


class Recording(MemoryStore):
    """The memory store, remembering each resource's commands as a network store would ship them."""

    shared = True  # as a network store: the engine hands it every command, reads too

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.commands: dict[str, list[Command]] = {}

    async def command(self, resource: Resource, command: Command) -> None:
        self.commands.setdefault(resource.id, []).append(command)


def _engine() -> tuple[Engine, Recording, ManualClock]:
    chosen = settings()
    clock = ManualClock(START)
    store = Recording(chosen, Masker())
    return Engine(chosen, bundled_catalog(), clock, state=store), store, clock


def _replayed(engine: Engine, store: Recording, resource: Resource) -> Timeline:
    scenario = engine.catalog[resource.api].scenarios[resource.scenario]
    return replay(
        scenario, resource.created_at, store.commands.get(resource.id, []), engine.lifecycle(resource.api)
    )


@pytest.mark.parametrize(
    ("api", "scenario"),
    [
        ("privategpt", "read-driven"),
        ("letta", "with-running"),
        ("letta", "never-finishes"),
        ("privategpt", "slow"),
    ],
)
def test_a_replayed_timeline_equals_the_engines(api: str, scenario: str) -> None:
    async def walk() -> None:
        engine, store, clock = _engine()
        chosen = engine.catalog[api].scenarios[scenario]
        resource = await engine.create(api, "r-1", {}, {}, chosen)
        for step in range(6):
            clock.advance(0.7)
            engine.observe(resource)
            await engine.count_read(resource)
            if step == 2:
                await engine.force_next(resource)
            if step == 4 and engine.lifecycle(api).cancel is not None:
                await engine.cancel(resource)
            assert replay(
                chosen, resource.created_at, store.commands["r-1"], engine.lifecycle(api), clock.now()
            ) == engine.observe(resource)
        assert _replayed(engine, store, resource).history == resource.timeline.history

    asyncio.run(walk())


def test_the_memory_store_is_a_state_store_and_stays_bounded() -> None:
    async def fill() -> None:
        store: StateStore = MemoryStore(settings(journal_size=3), Masker())
        memory = store
        assert isinstance(memory, MemoryStore)
        for number in range(VENDOR_MEMORY + 5):
            await store.vendor_put("a", "chatzy", f"token:{number}", {"used": False}, now=START, ttl=60)
        assert len(memory._vendor[("a", "chatzy", "token")]) == VENDOR_MEMORY
        await store.vendor_put("a", "chatzy", "token:late", {"used": False}, now=START + 61, ttl=60)
        assert len(memory._vendor[("a", "chatzy", "token")]) == VENDOR_MEMORY + 1 - 64  # expired ones go
        assert (await store.take_token("a", "chatzy", "token:late")) == {"used": False}
        assert (await store.take_token("a", "chatzy", "token:late")) == {"used": True}
        assert await store.take_token("b", "chatzy", "token:late") is None  # another namespace's
        for number in range(5):
            entry = JournalEntry("GET", f"/{number}", "", 200, None, None, None, None, START, 0.1, {})
            entry.namespace = "a" if number % 2 else "b"
            await store.append_journal(entry.namespace, entry)
        assert [e.path for e in await store.journal("a")] == ["/3"]  # five entries, three kept in all
        assert [e.path for e in await store.journal("b")] == ["/2", "/4"]
        assert await store.journal_length("b") == 2
        await store.clear_journal("b")
        assert await store.journal("b") == []
        assert [e.path for e in await store.journal("a")] == ["/3"]

    asyncio.run(fill())


def test_a_namespace_new_to_this_process_starts_from_the_stores_clock_offset() -> None:
    async def enter() -> None:
        engine, store, clock = _engine()
        store._offsets.update({"default": 10.0, "elsewhere": 30.0})  # as another process left them
        await engine.open()
        assert clock.now() == START + 10
        assert await engine.enter("elsewhere") is None
        assert engine.clock.now() == START + 30
        assert await engine.enter("fresh") is None
        assert engine.clock.now() == START

    asyncio.run(enter())


def test_another_process_new_resource_wakes_nothing_unless_a_dashboard_watches() -> None:
    # every create of every instance reaches every other one: with no copy here and no dashboard on
    # its namespace there is nothing to do, so not even a task is made for it
    engine, _, _ = _engine()

    async def tasks_made_for(change: Change) -> int:
        before = len(asyncio.all_tasks())
        engine._on_change(change)
        made = len(asyncio.all_tasks()) - before
        await asyncio.sleep(0)  # let it run
        return made

    async def scenario() -> tuple[int, int]:
        elsewhere = Change("resource", "default", "letta", "run-elsewhere")
        unwatched = await tasks_made_for(elsewhere)
        assert engine.events is not None  # a dashboard now watches the default namespace
        return unwatched, await tasks_made_for(elsewhere)

    assert asyncio.run(scenario()) == (0, 1)

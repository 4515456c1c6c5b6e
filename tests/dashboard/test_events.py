"""The event hub: coalesced, bounded buffers per subscriber, and time-driven changes published."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from comeback.testing import START, at_once, bundled_catalog
from mockserver.app import create_app
from mockserver.clock import ManualClock
from mockserver.engine import Engine
from mockserver.events import Batch, Subscriber
from mockserver.journal import JournalEntry
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from tests.mockserver.conftest import settings


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``asyncio.run`` in a thread of its own: Playwright's sync API (the browser tests, maybe in
    this same worker) keeps an event loop running in the main thread."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if failure:
        raise failure[0]


def engine() -> Engine:
    built: Engine = create_app(settings(), catalog=bundled_catalog()).state.engine
    return built


async def create(mock: Engine, scenario: str = "happy", resource_id: str = "m-1") -> Any:
    return await mock.create(
        "privategpt", resource_id, {}, {}, mock.catalog["privategpt"].scenarios[scenario]
    )


def entry(number: int) -> JournalEntry:
    return JournalEntry("GET", f"/x/{number}", "", 200, None, None, None, None, START, 0.1, {})


async def until(subscriber: Subscriber, done: Callable[[Batch], bool], seconds: float = 5) -> Batch:
    """Merge what the subscriber collects until ``done`` holds (the scheduler runs on the loop)."""
    merged = Batch()
    deadline = asyncio.get_running_loop().time() + seconds
    while not done(merged):
        remaining = deadline - asyncio.get_running_loop().time()
        assert remaining > 0, f"nothing arrived; so far {merged}"
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscriber.wake.wait(), remaining)
        batch = subscriber.take()
        merged.resources.update(batch.resources)
        merged.journal.extend(batch.journal)
        merged.clock |= batch.clock
        merged.restart |= batch.restart
    return merged


def test_nothing_is_collected_while_nobody_subscribes() -> None:
    async def scenario() -> None:
        mock = engine()
        await create(mock)
        await mock.record(entry(1))
        assert mock.events.subscribers == set()
        subscriber = await mock.events.subscribe()
        assert subscriber.take().resources == {}  # only what happens from now on
        mock.events.unsubscribe(subscriber)

    run(scenario)


def test_many_changes_of_one_resource_are_sent_once() -> None:
    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe()
        resource = await create(mock, "read-driven")
        for _ in range(100):
            await mock.count_read(resource)
        batch = subscriber.take()
        assert list(batch.resources) == [("privategpt", "m-1")]
        assert subscriber.take().resources == {}  # taken: the buffer is empty again
        mock.events.unsubscribe(subscriber)

    run(scenario)


def test_a_slow_subscriber_starts_over_instead_of_growing() -> None:
    async def scenario() -> None:
        mock = engine()
        mock.events.pending_limit = 10
        mock.events.journal_limit = 5
        slow = await mock.events.subscribe()
        for number in range(20):
            await mock.record(entry(number))
        batch = slow.take()
        assert [e.path for _, e in batch.journal] == [f"/x/{n}" for n in range(15, 20)]
        assert batch.journal_dropped == 15
        for number in range(11):
            await create(mock, resource_id=f"m-{number}")
        assert len(slow._resources) == 0  # more than the bound: dropped, and a snapshot is due
        assert slow.take().restart
        mock.events.unsubscribe(slow)

    run(scenario)


def test_deletes_and_resets_reach_subscribers() -> None:
    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe()
        resource = await create(mock)
        await mock.delete(resource)
        assert subscriber.take().resources == {("privategpt", "m-1"): None}
        await mock.reset()
        assert subscriber.take().restart
        mock.events.unsubscribe(subscriber)

    run(scenario)


def test_a_detail_subscriber_hears_only_its_resource() -> None:
    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe(only=("privategpt", "m-2"))
        await create(mock, resource_id="m-1")
        await create(mock, resource_id="m-2")
        await mock.record(JournalEntry("GET", "/", "", 200, "privategpt", "op", "m-1", None, START, 0, {}))
        await mock.record(JournalEntry("GET", "/", "", 200, "privategpt", "op", "m-2", None, START, 0, {}))
        batch = subscriber.take()
        assert list(batch.resources) == [("privategpt", "m-2")]
        assert [e.resource_id for _, e in batch.journal] == ["m-2"]
        mock.events.unsubscribe(subscriber)

    run(scenario)


@pytest.mark.parametrize("from_thread", [False, True], ids=["on-the-loop", "from-another-thread"])
def test_time_driven_changes_are_published_when_the_clock_moves(from_thread: bool) -> None:
    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe()
        resource = await create(mock)
        subscriber.take()
        if from_thread:  # tests advance the clock from their own thread
            mover = threading.Thread(
                target=at_once, args=(lambda: mock.advance_clock(1.0), DEFAULT_NAMESPACE)
            )
            mover.start()
            mover.join()
        else:
            await mock.advance_clock(1.0)
        batch = await until(subscriber, lambda batch: bool(batch.resources))
        assert batch.clock
        assert batch.resources == {("privategpt", "m-1"): resource}
        assert resource.timeline.state == "processing"  # published as it is now, without anyone reading
        mock.events.unsubscribe(subscriber)
        assert mock.events._scheduler is None

    run(scenario)


def test_the_scheduler_follows_a_scaled_clock() -> None:
    async def scenario() -> None:
        mock = create_app(settings(clock="real", speed=100.0), catalog=bundled_catalog()).state.engine
        subscriber = await mock.events.subscribe()
        await create(mock)  # processing after 1 s of mock time: 10 ms real
        subscriber.take()
        batch = await until(subscriber, lambda batch: bool(batch.resources))
        changed = batch.resources[("privategpt", "m-1")]
        assert changed is not None
        assert changed.timeline.state in ("processing", "completed")
        mock.events.unsubscribe(subscriber)

    run(scenario)


def test_a_resource_someone_looked_at_first_is_still_followed() -> None:
    async def scenario() -> None:
        mock = engine()
        resource = await create(mock)  # processing at +1 s, completed at +3 s
        await mock.advance_clock(1.5)
        subscriber = await mock.events.subscribe()  # scheduled for +1 s, from the stored timeline
        mock.observe(resource)  # but a client looks first: processing, next change at +3 s
        await asyncio.sleep(0.01)
        subscriber.take()
        await mock.advance_clock(2.0)
        batch = await until(subscriber, lambda batch: bool(batch.resources))
        assert resource.timeline.state == "completed"
        assert batch.resources == {("privategpt", "m-1"): resource}
        mock.events.unsubscribe(subscriber)

    run(scenario)


def test_an_evicted_resource_is_forgotten_by_the_scheduler() -> None:
    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe()
        resource = await create(mock)
        await mock.state.remove(resource)  # as eviction does: no event
        await mock.advance_clock(5.0)
        await until(subscriber, lambda batch: batch.clock)
        await asyncio.sleep(0.01)  # the scheduler's turn after the clock's
        assert mock.events._scheduled == {}
        assert mock.events._due == []
        mock.events.unsubscribe(subscriber)

    run(scenario)


@pytest.mark.parametrize("look", ["observe", "look", "is_done"])
def test_a_step_that_a_look_sees_first_is_published(look: str) -> None:
    """A stream's loop (``observe``), an admin listing (``look``) or eviction (``is_done``) may bring
    a timeline to its next step before the hub's scheduler does: the change is published all the
    same (a stream-only resource froze in the dashboard at its first state when it was not)."""

    async def scenario() -> None:
        mock = engine()
        subscriber = await mock.events.subscribe()
        resource = await create(mock)  # processing at +1 s, completed at +3 s
        subscriber.take()
        clock = mock.clocks.base
        assert isinstance(clock, ManualClock)
        clock.advance(3.0)  # the clock moves without telling the hub (no poke to its scheduler)
        getattr(mock, look)(resource)
        batch = subscriber.take()  # at once: nothing waited for the scheduler
        assert resource.timeline.state == "completed"
        assert batch.resources == {("privategpt", "m-1"): resource}
        mock.events.unsubscribe(subscriber)

    run(scenario)

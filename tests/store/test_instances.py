"""Two ``comeback serve`` processes on one real Redis behave as one mock (issue 21, point 2 and 3).

Both instances run on a manual clock, so nothing here waits for a scenario's seconds; each test
works in its own namespace, so the tests share the two processes without seeing each other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest

from bench.procs import Running
from tests.store.instances import (
    Client,
    create_run,
    eventually,
    instance,
    receiver,
    run_field,
    watch_feed,
)
from tools.redis_server import RedisServer


@pytest.fixture(scope="module")
def pair(redis_server: RedisServer) -> Iterator[tuple[Running, Running]]:
    with (
        instance(redis_server.url, "--clock", "manual") as a,
        instance(redis_server.url, "--clock", "manual") as b,
    ):
        yield a, b


def clients(pair: tuple[Running, Running], namespace: str) -> tuple[Client, Client]:
    return Client(pair[0], namespace), Client(pair[1], namespace)


def test_created_on_a_then_read_cancelled_and_deleted_on_b(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "crud")
    message = a.create("never-finishes")
    assert b.state(message) == "pending"  # no wait: written before A answered
    assert b.cancel(message).status_code == 200
    eventually(lambda: a.state(message), "cancelled")
    assert a.delete(message).status_code == 200
    eventually(lambda: b.state(message), 404)


def test_the_manual_clock_moved_on_a_moves_b(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "clock")
    message = a.create("happy")
    before = b.admin("GET", "clock").json()["epoch"]
    a.advance(60)
    eventually(lambda: b.admin("GET", "clock").json()["epoch"], before + 60)
    assert b.state(message) == "completed"


def test_reads_count_on_every_instance(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "reads")
    message = a.create("read-driven")
    assert a.state(message) == "pending"  # read 1 (on A)
    assert b.state(message) == "pending"  # read 2 (on B): the step after two reads begins now
    eventually(lambda: a.state(message), "processing")


def read_stream(client: Client, message: str, into: list[str]) -> threading.Thread:
    def read() -> None:
        url = f"{client.url}/v1/messages/async/{message}/stream"
        with httpx.stream("GET", url, headers=client.headers, timeout=30) as answer:
            into.extend(answer.iter_lines())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def test_a_stream_on_b_paces_and_ends_as_the_same_stream_on_a(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "pace")
    message = a.create("happy")
    on_a: list[str] = []
    on_b: list[str] = []
    threads = [read_stream(a, message, on_a), read_stream(b, message, on_b)]
    # both streams are open once the shared journal has both requests (recorded as a stream starts)
    opened = lambda: sum(e["path"].endswith("/stream") for e in a.admin("GET", "journal").json())  # noqa: E731
    eventually(opened, 2)
    for _ in range(20):  # the clock moves on A only
        a.advance(0.5)
    for thread in threads:
        thread.join(timeout=20)
        assert not thread.is_alive()
    frames = [line for line in on_a if line.startswith(("event:", "data:"))]
    assert frames
    assert [line for line in on_b if line.startswith(("event:", "data:"))] == frames


def test_a_stream_on_b_ends_when_a_cancels(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "cancel-stream")
    message = a.create("never-finishes")
    seen: list[str] = []
    thread = read_stream(b, message, seen)
    a.advance(2)  # processing, forever
    eventually(lambda: b.state(message), "processing")
    assert a.cancel(message).status_code == 200
    thread.join(timeout=20)
    assert not thread.is_alive(), "the stream served by B did not end"
    assert b.state(message) == "cancelled"


def test_reset_on_a_resets_b(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "reset")
    message = a.create("never-finishes")
    assert b.state(message) == "pending"
    assert a.admin("POST", "reset", json={}).status_code in (200, 204)
    eventually(lambda: b.state(message), 404)
    # the journal kept only B's reads since the reset (404s), nothing from before it
    assert {(e["method"], e["status"]) for e in b.admin("GET", "journal").json()} == {("GET", 404)}


def test_namespaces_stay_apart_across_instances(pair: tuple[Running, Running]) -> None:
    mine, theirs = Client(pair[0], "team-a"), Client(pair[1], "team-b")
    message = mine.create("never-finishes")
    assert theirs.state(message) == 404
    assert Client(pair[1], "team-a").state(message) == "pending"
    # team-b's journal has its own 404 read, nothing of team-a's
    assert [(e["method"], e["status"]) for e in theirs.admin("GET", "journal").json()] == [("GET", 404)]


def test_the_dashboard_feed_on_b_shows_what_a_created(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "feed")
    created: list[str] = []
    thread, frames = watch_feed(b, lambda kind, data: bool(created) and created[0] in data)
    created.append(a.create("never-finishes"))
    thread.join(timeout=15)
    assert not thread.is_alive(), f"B's feed never showed {created[0]}: {frames[-5:]}"


def test_the_dashboard_feed_on_b_shows_the_requests_a_served(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "journal-feed")
    made: list[str] = []

    def status_read(kind: str, data: str) -> bool:
        return kind == "journal" and bool(made) and f"/v1/messages/async/{made[0]}/status" in data

    thread, frames = watch_feed(b, status_read)
    made.append(a.create("never-finishes"))
    assert a.state(made[0]) == "pending"  # served by A only; B serves nothing in this namespace
    thread.join(timeout=15)
    assert not thread.is_alive(), f"B's feed never showed A's status read: {frames[-3:]}"
    journal = [frame for frame in frames if frame.startswith("journal")]
    assert '"POST"' in journal[0]  # A's create came first


def test_a_callback_is_sent_once(pair: tuple[Running, Running]) -> None:
    a, b = clients(pair, "callback")
    with receiver() as (hook, posts):
        run = create_run(a, hook)
        run_field(b, run, "status")  # B holds it too
        b.advance(10)  # moved on B: A's callback task wakes and sends
        eventually(lambda: len(posts), 1)
        eventually(lambda: run_field(b, run, "callback_status_code"), 204)
        assert len(posts) == 1

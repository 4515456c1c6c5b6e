"""A callback whose creating instance stops before it is due is sent by another instance, once
(issue 21: the shared callback schedule, ``mockserver/state/redis_callbacks.py``), with two real
``comeback serve`` processes on a real Redis of the test's own."""

from __future__ import annotations

import json
import os
import signal

import pytest
import redis

from mockserver.state.redis_callbacks import ORPHANED
from tests.store.instances import Client, create_run, eventually, instance, receiver, run_field
from tools.redis_server import RedisServer


@pytest.mark.parametrize(
    ("stop", "due_first"),
    [(signal.SIGKILL, False), (signal.SIGTERM, False), (signal.SIGKILL, True)],
    ids=["killed", "shut-down", "killed-and-already-due"],
)
def test_a_callback_due_after_its_creator_stopped_is_sent_once_by_another(
    own_redis: RedisServer, stop: signal.Signals, due_first: bool
) -> None:
    store = redis.Redis.from_url(own_redis.url)
    with (
        receiver() as (hook, posts),
        instance(own_redis.url, "--clock", "manual") as a,
        instance(own_redis.url, "--clock", "manual") as b,
    ):
        creator, other = Client(a, "takeover"), Client(b, "takeover")
        run = create_run(creator, hook)
        assert run_field(other, run, "status") == "created"
        assert store.scard("comeback:senders") == 2
        os.kill(a.pid, stop)
        if due_first:  # due at once, while A's lease still runs: sent as soon as B takes it over
            other.advance(10)
        # B's lease beat takes over A's schedule once A's lease is gone (at once after a shut-down)
        eventually(lambda: store.scard("comeback:senders"), 1)
        if not due_first:
            assert posts == []  # not due yet: B waits, as A would have
            other.advance(10)
        eventually(lambda: len(posts), 1)
        eventually(lambda: run_field(other, run, "callback_status_code"), 204)
        sent = json.loads(posts[0])
        assert (sent["run_id"], sent["status"]) == (run, "completed")
        (sender,) = store.smembers("comeback:senders")
        eventually(lambda: store.scard(f"comeback:sending:{os.fsdecode(sender)}"), 0)  # off it once sent
        assert len(posts) == 1
    store.close()


def test_a_reset_takes_the_namespace_callbacks_off_the_schedule(own_redis: RedisServer) -> None:
    store = redis.Redis.from_url(own_redis.url)
    with receiver() as (hook, posts), instance(own_redis.url, "--clock", "manual") as a:
        client = Client(a, "gone")
        create_run(client, hook)
        (sender,) = store.smembers("comeback:senders")
        scheduled = f"comeback:sending:{os.fsdecode(sender)}"
        assert store.scard(scheduled) == 1
        assert client.admin("POST", "reset", json={}).status_code in (200, 204)
        eventually(lambda: store.scard(scheduled), 0)
        client.advance(10)
        assert posts == []
    store.close()


def test_a_claim_left_by_a_dead_sender_is_recorded_not_sent_again(own_redis: RedisServer) -> None:
    store = redis.Redis.from_url(own_redis.url)
    with receiver() as (hook, posts), instance(own_redis.url, "--clock", "manual") as a:
        client = Client(a, "orphan")
        run = create_run(client, hook)
        # what a sender killed between its claim and its outcome leaves: a claim, no lease, no outcome
        store.set(f"comeback:{{orphan}}:callback:letta:{run}", "a-stopped-instance")
        client.advance(10)
        eventually(lambda: run_field(client, run, "callback_error"), ORPHANED)
        assert run_field(client, run, "callback_status_code") is None
        assert posts == []  # recorded instead of sent: the outcome above came without a POST
    store.close()

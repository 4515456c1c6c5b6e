"""Faults with a shared store (issue 21, point 5), and ``--workers 2`` on it, with real processes."""

from __future__ import annotations

import os
import signal

import httpx

from tests.store.instances import Client, eventually, instance
from tools.redis_server import RedisServer


def test_an_instance_killed_loses_nothing_another_acknowledged(redis_server: RedisServer) -> None:
    with instance(redis_server.url) as a, instance(redis_server.url) as b:
        writer, reader = Client(a, "sigkill"), Client(b, "sigkill")
        made = [writer.create("never-finishes") for _ in range(30)]  # each answered 200: acknowledged
        writer.cancel(made[-1])
        os.kill(a.pid, signal.SIGKILL)
        assert [reader.status(message).status_code for message in made] == [200] * 30
        assert reader.state(made[-1]) == "cancelled"


def test_while_the_store_is_away_the_api_answers_503_then_recovers(own_redis: RedisServer) -> None:
    with instance(own_redis.url, "--clock", "manual") as running:
        client = Client(running, "outage")
        message = client.create("never-finishes")
        own_redis.stop()
        answer = httpx.get(f"{running.url}/v1/messages/async/{message}/status", timeout=10)
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        detail = answer.json()["detail"]  # PrivateGPT's error shape
        assert f"shared store {own_redis.url} is not answering" in detail
        created = httpx.post(
            f"{running.url}/v1/messages/async",
            json={"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]},
            timeout=10,
        )
        assert created.status_code == 503
        admin = client.admin("GET", "journal")
        assert admin.status_code == 503
        assert admin.json()["title"] == "Store unavailable"
        own_redis.start()  # a new, empty server: what the old one held is gone with it
        eventually(lambda: client.status(message).status_code, 404)  # answers again, by itself
        again = client.create("never-finishes")
        assert client.state(again) == "pending"


def test_two_workers_on_a_shared_store_act_as_one_mock(redis_server: RedisServer) -> None:
    with instance(redis_server.url, "--workers", "2") as running:
        client = Client(running, "workers")
        message = client.create("never-finishes")
        # a new connection per request: the kernel spreads them over both workers
        assert {client.state(message) for _ in range(20)} <= {"pending", "processing"}  # never a 404
        assert client.cancel(message).status_code == 200
        eventually(lambda: {client.state(message) for _ in range(20)}, {"cancelled"})

"""The hot path on the Redis store: a status read of a resource this process holds up to date is
answered without a round trip (``held``), one it does not hold is fetched once, and a resource
another instance changed is not held until it is read again (issue 20's speed on issue 21's store)."""

from __future__ import annotations

import asyncio

import pytest
from starlette.testclient import TestClient

from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.app import create_app
from mockserver.catalog import Api, load_catalog
from mockserver.engine import Engine
from mockserver.state.redis import RedisStore
from tests.mockserver.conftest import AUTH, settings
from tests.mockserver.test_hot_path import BODY, Lookups
from tests.store.test_redis_store import pair, resource, run
from tools.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("collected")


@pytest.fixture(scope="module")
def catalog() -> dict[str, Api]:
    return load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=["letta"])


def test_a_status_read_looks_up_once_and_makes_no_round_trip_for_what_it_holds(
    redis_server: RedisServer,
) -> None:
    redis_server.flush()
    app = create_app(settings(store=redis_server.url, apis=frozenset({"privategpt"})))
    engine: Engine = app.state.engine
    with TestClient(app) as client:
        state = engine.state
        assert isinstance(state, RedisStore)
        created = client.post("/v1/messages/async", json=BODY, headers=AUTH["privategpt"])
        assert created.status_code == 200, created.text
        message = created.json()["message_id"]
        lookups = Lookups(engine)
        status = f"/v1/messages/async/{message}/status"
        for _ in range(2):
            assert client.get(status, headers=AUTH["privategpt"]).status_code == 200
        assert lookups.calls == ["held", "held"]  # cached by the create: no round trip
        state.items.forget(("default", "privategpt", message))  # as if made by another instance
        read = client.get(status, headers=AUTH["privategpt"])
        assert read.status_code == 200, read.text
        assert read.json()["message_id"] == message
        assert lookups.calls == ["held", "held", "held", "get"]  # not held: fetched once
        gone = client.get("/v1/messages/async/nothing/status", headers=AUTH["privategpt"])
        assert gone.status_code == 404
        assert lookups.calls[4:] == ["held", "get"]  # the handler does not ask again


def test_a_resource_another_instance_changed_is_not_held_until_read_again(
    redis_server: RedisServer, catalog: dict[str, Api]
) -> None:
    redis_server.flush()

    async def test(a: RedisStore, b: RedisStore) -> None:
        made = resource(catalog, "with-running")
        await a.add(made)
        assert a.held("default", "letta", "run-1") is made
        assert b.held("default", "letta", "run-1") is None  # never read on b
        fetched = await b.get("default", "letta", "run-1")
        assert fetched is not None
        assert b.held("default", "letta", "run-1") is fetched
        b.items.stale.add(("default", "letta", "run-1"))  # what a change published by a does
        assert b.held("default", "letta", "run-1") is None
        assert await b.get("default", "letta", "run-1") is fetched  # read again, the same object
        assert b.held("default", "letta", "run-1") is fetched
        await a.remove(made)
        for _ in range(500):  # a's delete reaches b through pub/sub
            if b.held("default", "letta", "run-1") is None:
                break
            await asyncio.sleep(0.01)
        assert b.held("default", "letta", "run-1") is None

    run(pair(redis_server.url, catalog), test)

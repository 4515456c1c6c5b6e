"""Finding 6 and 8: Chatzy tokens leave memory; eviction as documented, forced evictions logged."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from comeback.testing import at_once
from mockserver.engine import Engine
from mockserver.state.memory import MemoryStore
from mockserver.state.namespaces import DEFAULT_NAMESPACE
from mockserver.vendors import vendor_for
from mockserver.vendors.chatzy import Chatzy
from tests.mockserver import clients
from tests.safety.conftest import app


def _chatzy(client: TestClient) -> tuple[Engine, Chatzy]:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    vendor = vendor_for(engine, engine.catalog["chatzy"])
    assert isinstance(vendor, Chatzy)
    return engine, vendor


def _tokens(engine: Engine) -> int:
    assert isinstance(engine.state, MemoryStore)
    return len(engine.state._vendor[(DEFAULT_NAMESPACE, "chatzy", "token")])


def test_chatzy_tokens_expire_from_memory_and_are_capped() -> None:
    with TestClient(app(apis=frozenset({"chatzy"}))) as client:
        engine, chatzy = _chatzy(client)
        for _ in range(10_100):  # on a manual clock nothing expires: the cap holds
            at_once(lambda: chatzy.issue_token("c"), DEFAULT_NAMESPACE)
        assert _tokens(engine) == 10_000
        at_once(lambda: engine.advance_clock(121), DEFAULT_NAMESPACE)  # past one more lifetime after expiry
        for _ in range(200):
            at_once(lambda: chatzy.issue_token("c"), DEFAULT_NAMESPACE)
        assert _tokens(engine) == 200


def test_an_expired_token_is_still_answered_as_expired() -> None:
    with TestClient(app(apis=frozenset({"chatzy"}))) as client:
        engine, chatzy = _chatzy(client)
        token = at_once(lambda: chatzy.issue_token("c"), DEFAULT_NAMESPACE)
        at_once(lambda: engine.advance_clock(61), DEFAULT_NAMESPACE)
        answer = client.get("/get-response", params={"temp_token": token})
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "token_expired"


def test_polling_the_admin_listing_does_not_keep_resources_alive() -> None:
    with TestClient(app(max_age_seconds=10)) as client:
        old = clients.create(client, "letta", "never-finishes")
        for _ in range(3):
            client.post("/__mock/clock", json={"seconds": 4})
            assert client.get("/__mock/resources").status_code == 200
            assert client.get(f"/__mock/resources/letta/{old}").status_code == 200
        clients.create(client, "letta")  # creating sweeps idle resources
        assert client.get(f"/__mock/resources/letta/{old}").status_code == 404


def test_the_cap_takes_finished_resources_first_and_logs_forced_evictions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="comeback")
    with TestClient(app(max_resources=3)) as client:
        done = [clients.create(client, "letta", "happy") for _ in range(2)]
        client.post("/__mock/clock", json={"seconds": 60})
        working = [clients.create(client, "letta", "never-finishes") for _ in range(3)]
        listed = {r["id"] for r in client.get("/__mock/resources").json()}
        assert listed == set(working)  # the finished ones went; nothing in flight did
        assert not caplog.records
        newest = clients.create(client, "letta", "never-finishes")
        listed = {r["id"] for r in client.get("/__mock/resources").json()}
        assert listed == {*working[1:], newest}
    (record,) = caplog.records
    assert record.levelname == "WARNING"
    assert f"forgot letta {working[0]} (state created" in record.getMessage()
    assert done

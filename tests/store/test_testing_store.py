"""``comeback.testing.MockServer(store=...)`` and the pytest marker on a real Redis: mocks on one store
act as one mock in a namespace and stay apart across namespaces (issue 21, point 3, for tests)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from comeback.testing import MockServer
from mockserver.state.base import StoreUnavailableError
from mockserver.state.store_url import StoreUrlError
from tests.store.instances import BODY
from tools.redis_server import RedisServer

pytestmark = pytest.mark.usefixtures("collected")
STATUS = "/v1/messages/async/{}/status"


def eventually(check: Callable[[], Any], expected: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while (found := check()) != expected:
        assert time.monotonic() < deadline, f"still {found!r}, expected {expected!r}"
        time.sleep(0.02)


def test_two_mocks_on_one_store_share_a_namespace_and_not_another(redis_server: RedisServer) -> None:
    url = redis_server.url  # one mock in-process, one on a port (its controls run on uvicorn's loop)
    with (
        MockServer.start(apis=["privategpt"], store=url, namespace="job-1", auth=False) as one,
        MockServer.start(apis=["privategpt"], store=url, namespace="job-1", auth=False, port=True) as two,
        MockServer.start(apis=["privategpt"], store=url, namespace="job-2", auth=False) as other,
    ):
        one.reset()
        one.next_scenario("privategpt", "happy")  # queued in the store: taken by the create on two
        created = two.client.post("/v1/messages/async", json=BODY)
        assert created.status_code == 200, created.text
        message = created.json()["message_id"]
        assert one.client.get(STATUS.format(message)).json()["status"] == "pending"
        assert other.client.get(STATUS.format(message)).status_code == 404
        two.advance(60)  # one clock per namespace, in the store: it moved for one too
        eventually(lambda: one.state("privategpt", message), "completed")
        assert one.client.get(STATUS.format(message)).json()["status"] == "completed"
        # two's create in one's journal (instances write theirs in batches: in the order they wrote them)
        eventually(lambda: "POST createAsyncMessage" in one.journal.calls(), True)
        assert other.journal.calls() == ["GET getAsyncMessageStatus"]  # its own 404 only
        with pytest.raises(KeyError):
            other.state("privategpt", message)


def test_a_store_that_is_malformed_or_away_is_named() -> None:
    malformed, away = "redis://127.0.0.1:6379/x", "redis://127.0.0.1:1/0"
    named = re.escape(f"store={malformed!r}")
    with pytest.raises(StoreUrlError, match=named), MockServer.start(store=malformed):
        pass
    with pytest.raises(StoreUnavailableError, match=re.escape(away)), MockServer.start(store=away):
        pass


def test_the_marker_takes_a_store(pytester: pytest.Pytester, redis_server: RedisServer) -> None:
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.comeback(apis=["privategpt"], store={redis_server.url!r}, namespace="marked", auth=False)
        def test_create(comeback_mock):
            comeback_mock.reset()
            made = comeback_mock.client.post("/v1/messages/async", json={BODY!r})
            assert made.status_code == 200

        @pytest.mark.comeback(apis=["privategpt"], store={redis_server.url!r}, namespace="marked", auth=False)
        def test_sees_it(comeback_mock):
            assert [r.id for r in comeback_mock.run(comeback_mock.engine.resources)]
            assert comeback_mock.engine.state.shared
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)

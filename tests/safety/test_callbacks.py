"""Finding 5: callbacks go to loopback only unless widened; refused and failed ones are recorded
(``callback_error``, ``callback_sent_at`` null) and logged; no URL can crash the callback task."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockserver.app import default_settings
from mockserver.settings import LOOPBACK_NAMES
from tests.mockserver.conftest import AGENT
from tests.safety.conftest import app

BEARER = {"Authorization": "Bearer any"}


def _run_with_callback(client: TestClient, url: str) -> dict[str, Any] | None:
    """Create a run with ``url`` as callback, let it finish, wait for the callback outcome."""
    body = {"messages": [{"role": "user", "content": "hi"}], "callback_url": url}
    created = client.post(  # ASCII-escaped JSON: a lone surrogate travels as the text \ud800
        f"/v1/agents/{AGENT}/messages/async",
        content=json.dumps(body).encode(),
        headers={**BEARER, "Content-Type": "application/json"},
    )
    if created.status_code != 200:
        assert created.status_code < 500
        return None
    client.post("/__mock/clock", json={"seconds": 5})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run: dict[str, Any] = client.get(f"/v1/runs/{created.json()['id']}", headers=BEARER).json()
        if run["callback_error"] is not None or run["callback_status_code"] is not None:
            return run
        time.sleep(0.01)
    raise AssertionError("the callback outcome was never recorded")


def test_the_default_allows_loopback_only() -> None:
    assert default_settings().callback_hosts == LOOPBACK_NAMES == {"127.0.0.1", "::1", "localhost"}


def test_a_callback_to_another_host_is_refused_recorded_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="comeback")
    with TestClient(app(callback_hosts=LOOPBACK_NAMES)) as client:
        run = _run_with_callback(client, "https://client.example.com/letta/runs/done?token=t0ps3cret")
    assert run is not None
    assert run["status"] == "completed"
    assert run["callback_sent_at"] is None
    assert run["callback_status_code"] is None
    assert "'client.example.com' is not allowed" in run["callback_error"]
    assert "--callback-host" in run["callback_error"]
    (line,) = [r.getMessage() for r in caplog.records if "callback for letta" in r.getMessage()]
    assert "https://client.example.com/letta/runs/done: callback not sent" in line
    assert "t0ps3cret" not in line  # the query may carry credentials: never logged


def test_a_failed_callback_has_no_sent_at() -> None:
    with TestClient(app()) as client:
        run = _run_with_callback(client, "http://127.0.0.1:9/closed")
    assert run is not None
    assert run["callback_sent_at"] is None
    assert run["callback_error"].startswith("callback failed: ConnectError")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/\x00x",
        "http://127.0.0.1:9/a\nb",
        "http://[::1",
        "http://exa mple.com/",
        "ftp://127.0.0.1/x",
        "http://127.0.0.1:99999/",
        "http:///nohost",
        "\ud800",
        "x" * 5000,
    ],
)
def test_no_callback_url_crashes_the_task(url: str) -> None:
    with TestClient(app()) as client:  # loopback only: nothing leaves the machine
        run = _run_with_callback(client, url)
        if run is not None:  # the spec accepted the URL: the outcome says why nothing was sent
            assert run["callback_sent_at"] is None
            assert run["callback_error"]
        assert client.get("/v1/runs/", headers=BEARER).status_code == 200

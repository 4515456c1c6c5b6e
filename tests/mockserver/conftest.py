"""A mock per test, in-process, on a manual clock and in strict mode (every response is checked)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from starlette.testclient import TestClient

from comeback.testing import START
from mockserver.app import create_app, default_settings
from mockserver.settings import Settings

AUTH = {
    "privategpt": {"Authorization": "secret"},
    "letta": {"Authorization": "Bearer any"},
    "invent": {"Authorization": "Bearer any"},
    "chatzy": {},
}
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
CHATBOT = "96333140-53c3-4d1d-bbd1-edd150d46ea2"


def settings(**changes: Any) -> Settings:
    # callbacks only to this machine: tests never send traffic anywhere else
    loopback = frozenset({"127.0.0.1", "localhost"})
    chosen: dict[str, Any] = {
        "clock": "manual",
        "start_time": START,
        "strict": True,
        "callback_hosts": loopback,
        **changes,
    }
    return replace(default_settings(), **chosen)


class Mock:
    """A test client for the mock plus the admin calls tests use all the time."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def advance(self, seconds: float) -> None:
        response = self.client.post("/__mock/clock", json={"seconds": seconds})
        assert response.status_code == 200, response.text

    def resource(self, api: str, resource_id: str) -> dict[str, Any]:
        response = self.client.get(f"/__mock/resources/{api}/{resource_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def journal(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = self.client.get("/__mock/journal").json()
        return entries


@pytest.fixture
def mock() -> Iterator[Mock]:
    with TestClient(create_app(settings()), raise_server_exceptions=True) as client:
        yield Mock(client)

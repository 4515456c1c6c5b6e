"""Finding 2: a clock advance is finite and bounded; a refused one changes nothing, and no value
breaks the mock for later calls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mockserver.engine import CLOCK_LIMIT, MAX_ADVANCE_SECONDS
from tests.mockserver import clients
from tests.safety.conftest import app

START = "2025-06-15T15:06:40.000000Z"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(app()) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "body",
    [
        b'{"seconds": NaN}',
        b'{"seconds": Infinity}',
        b'{"seconds": -Infinity}',
        b'{"seconds": 1e400}',
        b'{"seconds": 1e300}',
        b'{"seconds": 3e11}',
        b'{"seconds": 1' + b"0" * 400 + b"}",
        b'{"seconds": 1' + b"0" * 5000 + b"}",
        b'{"seconds": -1}',
        b'{"seconds": "1"}',
        b'{"seconds": true}',
        b'{"seconds": null}',
        b'{"\\ud800": 1}',
        b"[" * 100_000 + b"]" * 100_000,
        b"{",
        b"\xff",
        b"[1]",
    ],
)
def test_bad_advances_are_refused_and_change_nothing(client: TestClient, body: bytes) -> None:
    run = clients.create(client, "letta", "slow")
    answer = client.post("/__mock/clock", content=body, headers={"Content-Type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert client.get("/__mock/clock").json()["now"] == START
    assert clients.read(client, "letta", run)[0] == 200
    assert client.post("/__mock/reset", json={}).status_code == 200


def test_the_largest_advances_keep_the_mock_working() -> None:
    with TestClient(app(start_time=CLOCK_LIMIT - 1.5 * MAX_ADVANCE_SECONDS)) as client:
        run = clients.create(client, "letta", "slow")
        assert client.post("/__mock/clock", json={"seconds": MAX_ADVANCE_SECONDS}).status_code == 200
        answer = client.post("/__mock/clock", json={"seconds": MAX_ADVANCE_SECONDS})
        assert answer.status_code == 400
        assert "9000-01-01" in answer.json()["detail"]
        assert client.get("/__mock/clock").json()["now"].startswith("8999-")
        status, body = clients.read(client, "letta", run)
        assert (status, body["status"]) == (200, "completed")
        assert clients.create(client, "letta")
        assert client.get("/__mock/resources").status_code == 200

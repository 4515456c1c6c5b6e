"""Finding 1: the admin API answers only its owner; the Host header is checked on every route."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from lifecycle.hosts import HostRule, host_name
from tests.mockserver import clients
from tests.safety.conftest import app

EVIL = "http://evil.example"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(app(), raise_server_exceptions=True) as test_client:
        yield test_client


def test_a_foreign_origin_is_refused_and_changes_nothing(client: TestClient) -> None:
    run = clients.create(client, "letta", "slow")
    read = client.get("/__mock/journal", headers={"Origin": EVIL})
    assert read.status_code == 403
    assert read.headers["content-type"] == "application/problem+json"
    assert "access-control-allow-origin" not in read.headers
    assert "Bearer" not in read.text
    for origin in (EVIL, "null", "http://127.0.0.1:1", "http://testserver.evil.example"):
        reset = client.post("/__mock/reset", json={}, headers={"Origin": origin})
        assert reset.status_code == 403, origin
    preflight = client.options(
        "/__mock/reset", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    assert client.get(f"/__mock/resources/letta/{run}").status_code == 200  # nothing was reset


def test_the_mock_s_own_origin_is_served_without_cors_headers(client: TestClient) -> None:
    answer = client.get("/__mock/clock", headers={"Origin": "http://testserver"})
    assert answer.status_code == 200
    assert not [name for name in answer.headers if name.startswith("access-control-")]
    # API routes keep CORS for browser apps (--cors-origin, default any)
    api = client.get("/v1/runs/", headers={"Origin": EVIL, "Authorization": "Bearer x"})
    assert api.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("POST", "/__mock/reset", "text/plain"),
        ("POST", "/__mock/reset", None),
        ("POST", "/__mock/clock", "application/x-www-form-urlencoded"),
        ("DELETE", "/__mock/journal", "multipart/form-data; boundary=x"),
        ("PUT", "/__mock/scenarios/letta/default", "text/plain"),
    ],
)
def test_state_changing_admin_calls_need_json(
    client: TestClient, method: str, path: str, content_type: str | None
) -> None:
    run = clients.create(client, "letta", "slow")
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.request(method, path, content=b'{"seconds": 5, "name": "failed"}', headers=headers)
    assert answer.status_code == 415, answer.text
    assert answer.json()["title"] == "Unsupported content type"
    assert client.get(f"/__mock/resources/letta/{run}").status_code == 200
    assert client.get("/__mock/scenarios").json()["letta"]["default"] == "happy"
    assert client.get("/__mock/clock").json()["now"] == "2025-06-15T15:06:40.000000Z"


def test_yaml_is_accepted_for_scenario_files_only(client: TestClient) -> None:
    for media in ("application/yaml", "application/x-yaml", "text/yaml", "application/json"):
        answer = client.put(
            "/__mock/scenarios/letta/mine", content=b"api: letta", headers={"Content-Type": media}
        )
        assert answer.status_code != 415, media  # the guard lets it through to the scenario routes


def test_the_admin_token(client: TestClient) -> None:
    with TestClient(app(admin_token="s3cret")) as guarded:
        assert guarded.get("/__mock/clock").status_code == 401
        assert guarded.get("/__mock/clock", headers={"X-Mock-Admin-Token": "wrong"}).status_code == 401
        assert guarded.get("/__mock/clock", headers={"X-Mock-Admin-Token": "s3cret"}).status_code == 200
        refused = guarded.post("/__mock/reset", json={})
        assert refused.status_code == 401
        assert "X-Mock-Admin-Token".lower() in refused.json()["detail"]
        # API routes do not need it
        assert guarded.get("/v1/runs/", headers={"Authorization": "Bearer x"}).status_code == 200


def test_admin_bodies_are_limited(client: TestClient) -> None:
    big = b'{"seconds": 1, "pad": "' + b"x" * 1_100_000 + b'"}'
    declared = client.post("/__mock/clock", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the guard counts as it reads
        yield b'{"seconds": 1, "pad": "'
        for _ in range(200):
            yield b"x" * 10_000
        yield b'"}'

    streamed = client.post("/__mock/clock", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    assert client.get("/__mock/clock").json()["now"] == "2025-06-15T15:06:40.000000Z"


@pytest.mark.parametrize("path", ["/__mock/journal", "/v1/runs/", "/get_stream_status?conversation_id=x"])
def test_a_foreign_host_header_is_refused_on_every_route(client: TestClient, path: str) -> None:
    answer = client.get(path, headers={"Host": "evil.example:8000", "Authorization": "Bearer x"})
    assert answer.status_code == 403
    assert "--allow-host" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("127.0.0.1:8000", True),
        ("127.5.6.7", True),
        ("[::1]:8000", True),
        ("localhost:8000", True),
        ("LocalHost.", True),
        ("app.localhost", True),
        ("mock.internal", True),  # --allow-host mock.internal
        ("a.dev.example:1", True),  # --allow-host .dev.example
        ("dev.example", True),
        ("evil.example", False),
        ("127.0.0.1.evil.example", False),
        ("localhost.evil.example", False),
        ("10.0.0.5:8000", False),  # bound to 127.0.0.1: other addresses are not ours
        ("", False),
    ],
)
def test_host_rule(header: str, allowed: bool) -> None:
    rule = HostRule(["127.0.0.1", "mock.internal", ".dev.example"])
    assert rule.allows(header.encode()) is allowed


def test_host_rule_when_bound_to_every_interface() -> None:
    rule = HostRule(["0.0.0.0"])
    assert rule.allows(b"10.0.0.5:8000")
    assert rule.allows(b"[fe80::1]:8000")
    assert not rule.allows(b"evil.example")
    assert HostRule(["*"]).allows(b"evil.example")
    assert host_name("[::1]:80") == "::1"

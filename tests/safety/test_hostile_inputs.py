"""Finding 4: every kind of malformed input, sent to every route of every API and to the admin API
through a real socket: no answer of 500 or more, no hang, and a live server afterwards.

Bounded: one request per (route, kind), about 750 requests in a few seconds."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from comeback.testing import START, bundled_catalog
from mockserver.servers import serve_in_thread
from tests.mockserver import clients
from tests.mockserver.conftest import AUTH
from tests.safety.conftest import app

HUGE_INT = b"1" + b"0" * 5000  # over Python's 4,300-digit limit for int()
BODIES: dict[str, bytes] = {
    "huge integer": b'{"seconds": ' + HUGE_INT + b', "input": ' + HUGE_INT + b"}",
    "10^400 integer": b'{"seconds": 1' + b"0" * 400 + b', "limit": 1' + b"0" * 400 + b"}",
    "1e400": b'{"seconds": 1e400, "max_tokens": 1e400}',
    "NaN": b'{"seconds": NaN, "max_tokens": NaN}',
    "Infinity": b'{"seconds": Infinity, "temperature": Infinity}',
    "-Infinity": b'{"seconds": -Infinity}',
    "lone surrogate key": b'{"\\ud800": 1}',
    "lone surrogate value": (
        b'{"name": "\\udfff", "input": "\\ud800", "messages": [{"role": "user", "content": "\\ud800"}]}'
    ),
    "100,000-deep nesting": b"[" * 100_000 + b"]" * 100_000,
    "900-deep nesting": b'{"a":' * 900 + b"1" + b"}" * 900,
    "not UTF-8": b'{"input": "\xff\xfe"}',
    "truncated JSON": b'{"messages": [',
    "wrong types": b'{"messages": "x", "name": 5, "run_ids": {"a": 1}, "seconds": []}',
    "empty": b"",
}
QUERY_VALUES = [
    HUGE_INT.decode()[:4400],
    "1" + "0" * 400,
    "1e400",
    "NaN",
    "-Infinity",
    "%ED%A0%80",
    "%FF",
    "x" * 5000,
]
PATH_VALUES = [HUGE_INT.decode()[:4000], "%ED%A0%80", "%FF%FE", "NaN", "..%2F..%2Fetc", "x" * 3000]
ADMIN_ROUTES = [
    ("POST", "/__mock/reset"),
    ("GET", "/__mock/resources"),
    ("GET", "/__mock/resources/letta/{id}"),
    ("POST", "/__mock/resources/letta/{id}/next"),
    ("GET", "/__mock/journal"),
    ("POST", "/__mock/journal/verify"),
    ("GET", "/__mock/scenarios"),
    ("PUT", "/__mock/scenarios/letta/default"),
    ("POST", "/__mock/scenarios/letta/next"),
    ("GET", "/__mock/clock"),
    ("POST", "/__mock/clock"),
    ("DELETE", "/__mock/journal"),
]


def _routes() -> Iterator[tuple[str, str, str, list[str]]]:
    """(api, method, path template, query parameter names) of every operation, then the admin API."""
    for name, api in bundled_catalog().items():
        for operation in api.spec.operations.values():
            query = [p["name"] for p in operation.parameters if p.get("in") == "query"]
            yield name, operation.method.upper(), operation.path, query
    for method, path in ADMIN_ROUTES:
        yield "admin", method, path, ["api", "operation", "resource", "status"]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def _requests() -> Iterator[tuple[str, str, str, bytes, dict[str, str | bytes]]]:
    """(label, method, url, body, headers) of every hostile request."""
    for api, method, template, query in _routes():
        auth = AUTH.get(api, {})
        path = _fill(template, "x1")
        json_headers: dict[str, str | bytes] = {**auth, "Content-Type": "application/json"}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            for kind, body in BODIES.items():
                yield f"{method} {template} body {kind}", method, path, body, json_headers
        for value in QUERY_VALUES:
            names = [*query[:3], "limit"]  # the URL stays under the client's 65,536 characters
            url = path + "?" + "&".join(f"{name}={value}" for name in names)
            yield f"{method} {template} query {value[:12]}", method, url, b"{}", json_headers
        if "{" in template:
            for value in PATH_VALUES:
                yield (
                    f"{method} {template} path {value[:12]}",
                    method,
                    _fill(template, value),
                    b"{}",
                    json_headers,
                )
        hostile_auth: dict[str, str | bytes] = {  # latin-1 bytes, as a raw client may send them
            "Authorization": b"Bearer " + b"\xe9" * 3000,
            "X-Mock-Fault": b"status=" + HUGE_INT[:500],
            "X-Mock-Scenario": b"\xff" * 100,
        }
        yield f"{method} {template} headers", method, path, b"{}", {**json_headers, **hostile_auth}
        yield f"{method} {template} form", method, path, b"seconds=1", {**auth, "Content-Type": "text/plain"}


def test_no_malformed_request_gets_a_5xx_or_hangs_and_the_server_lives_on() -> None:
    mock_app = app()
    failures: list[str] = []
    with serve_in_thread(mock_app) as base, httpx.Client(base_url=base, timeout=10) as client:
        run = clients.create(client, "letta", "slow")  # type: ignore[arg-type]
        sent = 0
        for label, method, url, body, headers in _requests():
            raw = {name.encode(): v if isinstance(v, bytes) else v.encode() for name, v in headers.items()}
            answer = client.request(method, url.replace("{id}", run), content=body, headers=raw)
            sent += 1
            if answer.status_code >= 500:
                failures.append(f"{label}: {answer.status_code} {answer.text[:200]}")
        assert sent > 700
        assert not failures, "\n".join(failures)
        assert client.get("/__mock/clock").status_code == 200
        assert clients.create(client, "privategpt")  # type: ignore[arg-type]
        assert mock_app.state.engine.clock.now() == START  # no hostile clock call got through


CREATES = {
    "privategpt": "/v1/messages/async",
    "letta": "/v1/agents/agent-123e4567-e89b-42d3-8456-426614174000/messages/async",
    "invent": "/chats/chat-1/messages",
    "chatzy": "/get_inference",
}


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    with serve_in_thread(app()) as url:
        yield url


@pytest.mark.parametrize("api", sorted(CREATES))
def test_api_routes_answer_malformed_bodies_in_the_vendor_shape(base: str, api: str) -> None:
    headers = {**AUTH[api], "Content-Type": "application/json"}
    url = base + CREATES[api]
    reference = httpx.post(url, content=b'{"messages": 7, "message": 7}', headers=headers)
    assert 400 <= reference.status_code < 500
    for kind, body in BODIES.items():
        if kind == "empty":
            continue
        answer = httpx.post(url, content=body, headers=headers)
        assert 400 <= answer.status_code < 500, (kind, answer.text[:200])
        assert answer.headers["content-type"] == reference.headers["content-type"], kind
        assert set(answer.json()) == set(reference.json()), (kind, answer.text[:200])

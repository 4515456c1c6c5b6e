"""Finding 4 (round 2): ``comeback record`` keeps the mock's Host rule on every route it serves, so a
DNS-rebinding page cannot read the recorded server through it; its flush check wants an exact
loopback Origin."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lifecycle.hosts import is_loopback_origin
from mockserver.servers import serve_in_thread
from recorder.proxy import Options, create_app
from tests.recorder.conftest import spec_of
from tests.safety.test_hostile_inputs import BODIES

JSON = {"Content-Type": "application/json"}


def _target(seen: list[str]) -> Starlette:
    async def anything(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        return JSONResponse({"secret": "the recorded server's data"})

    return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST"])])


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8001", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_a_rebinding_host_is_refused_on_every_route_and_nothing_reaches_the_target(
    tmp_path: Path, host: str
) -> None:
    seen: list[str] = []
    with serve_in_thread(_target(seen)) as target:
        options = Options(spec_of("letta"), target, tmp_path, spec_label="letta.yaml")
        with serve_in_thread(create_app(options, hosts=["127.0.0.1"])) as proxy:
            headers = {"Host": host}
            answers = [
                httpx.get(f"{proxy}/v1/runs/run-1", headers=headers),
                httpx.get(f"{proxy}/__record/recordings", headers=headers),
                httpx.post(f"{proxy}/__record/flush", content=b"{}", headers={**headers, **JSON}),
            ]
            assert httpx.get(f"{proxy}/v1/runs/run-1").status_code == 200  # its own name still works
    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert "--allow-host" in answer.json()["detail"]
        assert "recorded server" not in answer.text
    assert seen == ["GET /v1/runs/run-1"]  # only the loopback request was forwarded


def test_allow_host_widens_the_rule(tmp_path: Path) -> None:
    seen: list[str] = []
    with serve_in_thread(_target(seen)) as target:
        options = Options(spec_of("letta"), target, tmp_path, spec_label="letta.yaml")
        with serve_in_thread(create_app(options, hosts=["127.0.0.1", "recorder.internal"])) as proxy:
            answer = httpx.get(f"{proxy}/v1/runs/run-1", headers={"Host": "recorder.internal"})
    assert answer.status_code == 200
    assert seen == ["GET /v1/runs/run-1"]


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://localhost.evil.example", 403),
        ("http://127.0.0.1.evil.example", 403),
        ("http://localhost:80@evil.example", 403),
        ("http://[::1]x.evil", 403),
        ("null", 403),
        ("http://localhost:5173", 200),
        ("http://127.0.0.1:8001", 200),
        ("http://[::1]:8001", 200),
    ],
)
def test_the_flush_check_wants_an_exact_loopback_origin(tmp_path: Path, origin: str, status: int) -> None:
    options = Options(spec_of("letta"), "http://127.0.0.1:9", tmp_path, spec_label="letta.yaml")
    with serve_in_thread(create_app(options, hosts=["127.0.0.1"])) as proxy:
        answer = httpx.post(f"{proxy}/__record/flush", content=b"{}", headers={"Origin": origin, **JSON})
    assert answer.status_code == status, answer.text
    assert is_loopback_origin(origin) is (status == 200)


def test_hostile_bodies_to_the_recorder_get_no_5xx(tmp_path: Path) -> None:
    options = Options(spec_of("letta"), "http://127.0.0.1:9", tmp_path, spec_label="letta.yaml")
    failures = []
    with serve_in_thread(create_app(options, hosts=["127.0.0.1"])) as proxy:
        for kind, body in BODIES.items():
            for method, path in (("POST", "/__record/flush"), ("GET", "/__record/recordings")):
                answer = httpx.request(method, proxy + path, content=body, headers=JSON, timeout=10)
                if answer.status_code >= 500:
                    failures.append(f"{method} {path} {kind}: {answer.status_code} {answer.text[:200]}")
    assert not failures, "\n".join(failures)

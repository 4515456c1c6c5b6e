"""The proxy as a client sees it: exchanges pass unchanged, identical timelines are written once,
the control endpoint guards the files, and an unreachable target is a clear 502."""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver.servers import serve_in_thread
from recorder.proxy import Options, create_app
from tests.recorder.conftest import record_on_manual_clock, spec_of


def test_identical_timelines_are_written_once(tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    walks, flushed = record_on_manual_clock("invent", ["happy", "happy", "failed"], out)
    files = {entry["file"]: entry["resources"] for entry in flushed["written"]}
    assert len(files) == 2
    happy = next(Path(f) for f, ids in files.items() if len(ids) == 2)
    assert sorted(files[str(happy)]) == sorted(w.resource_id for w in walks[:2])
    text = happy.read_text(encoding="utf-8")
    assert "# 2 resource(s) walked this timeline" in text
    assert [s["state"] for s in yaml.safe_load(text)["steps"]] == ["running", "completed"]
    assert sorted(p.name for p in (out / "invent").iterdir()) == sorted(Path(f).name for f in files)


def test_the_control_endpoint_takes_json_from_this_machine_only(tmp_path: Path) -> None:
    options = Options(spec_of("letta"), "http://127.0.0.1:9", tmp_path, spec_label="letta.yaml")
    with TestClient(create_app(options)) as client:
        assert client.post("/__record/flush", content=b"{}").status_code == 415
        foreign = {"Origin": "https://example.com", "Content-Type": "application/json"}
        assert client.post("/__record/flush", content=b"{}", headers=foreign).status_code == 403
        assert client.post("/__record/flush", json=[1]).status_code == 400
        answer = client.post("/__record/flush", json={})
        assert answer.json() == {"written": [], "same_as_written": 0, "rejected": [], "reactions": []}
        assert client.get("/__record/recordings").json() == []


def test_an_unreachable_target_is_a_502_problem(tmp_path: Path) -> None:
    options = Options(spec_of("letta"), "http://127.0.0.1:9", tmp_path, spec_label="letta.yaml")
    with TestClient(create_app(options)) as client:
        answer = client.get("/v1/runs/run-1")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert "could not reach the target" in answer.json()["title"]


def test_exchanges_pass_unchanged_including_unknown_paths_and_repeated_headers(tmp_path: Path) -> None:
    def target(request: httpx.Request) -> httpx.Response:
        echoed = (
            f"{request.method} {request.url.path}?{request.url.query.decode()} {request.content.decode()}"
        )
        return httpx.Response(
            418,
            headers=[("x-twice", "a"), ("x-twice", "b"), ("content-type", "text/plain")],
            text=echoed + " auth=" + request.headers.get("authorization", ""),
        )

    transport = httpx.MockTransport(target)
    options = Options(
        spec_of("letta"), "http://target.invalid/base", tmp_path, spec_label="letta.yaml", transport=transport
    )
    with TestClient(create_app(options)) as client:
        answer = client.post("/any/where?x=1&y=2", content=b"raw body", headers={"Authorization": "Bearer k"})
    assert answer.status_code == 418
    assert answer.text == "POST /base/any/where?x=1&y=2 raw body auth=Bearer k"
    assert answer.headers.get_list("x-twice") == ["a", "b"]


def test_the_path_goes_on_exactly_as_the_client_encoded_it(tmp_path: Path) -> None:
    async def echo(request: Request) -> Response:
        return PlainTextResponse(request.scope["raw_path"].decode())

    target = Starlette(routes=[Route("/{rest:path}", echo, methods=["GET"])])
    with serve_in_thread(target) as url:
        options = Options(spec_of("letta"), url, tmp_path, spec_label="letta.yaml")
        with serve_in_thread(create_app(options)) as proxy:
            assert httpx.get(f"{proxy}/a/wh%2Fere%20x").text == "/a/wh%2Fere%20x"

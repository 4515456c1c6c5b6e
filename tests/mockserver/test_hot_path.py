"""The hot path's shortcuts give the answers the long way gives (issue 15): same route, same journal
path, same body reading, same stream frames, no per-request access log by default."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import starlette.responses
from jsonschema import Draft202012Validator
from starlette._utils import get_route_path as starlette_route_path
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from comeback.cli import _parser
from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.scenario import body_texts
from mockserver.agreement import Agreement
from mockserver.app import create_app
from mockserver.catalog import load_catalog
from mockserver.cors import Cors
from mockserver.engine import Engine
from mockserver.error_shape import ErrorShape
from mockserver.fake import FakeData
from mockserver.guard import Guard
from mockserver.inputs import _may_have_body
from mockserver.render import iso
from mockserver.replay import CutConnections
from mockserver.responses import JSONResponse
from mockserver.routing import ApiRoutes, OperationRoute, OperationRouter, Operations, route_path
from mockserver.store import Resource
from mockserver.vendors.privategpt import _event, _Frames, _hex
from tests.mockserver.conftest import AUTH, Mock, settings

BODY = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}


def _scope(method: str, path: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": [], **extra}


def _starlette_choice(routes: list[Route], scope: dict[str, Any]) -> tuple[Route, dict[str, Any]] | None:
    """The route Starlette's router gives a full match, with its path parameters."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return route, child["path_params"]
    return None


@pytest.fixture(scope="module")
def operations() -> Operations:
    app = create_app(settings())
    found: Operations = app.state.operations
    return found


def test_a_replaced_api_is_routed_by_its_new_routes_in_its_old_place(operations: Operations) -> None:
    order = list(operations.apis)
    old = operations.apis["privategpt"]
    assert operations.match("GET", "/v1/messages/async/m1/status") is not None
    kept = tuple(r for r in old.routes if r.path != "/v1/messages/async/{message_id}/status")
    operations.serve(ApiRoutes("privategpt", kept, old.errors))
    try:
        assert operations.match("GET", "/v1/messages/async/m1/status") is None
        assert list(operations.apis) == order
        assert operations.refusal(_scope("GET", "/v1/messages/async/m1/status")).status_code == 404
    finally:
        operations.serve(old)
    assert operations.match("GET", "/v1/messages/async/m1/status") is not None


def test_the_operation_router_is_innermost_so_no_other_middleware_is_bypassed() -> None:
    app = create_app(settings(cors_origins=("http://localhost:3000",)))
    stack = app.build_middleware_stack()
    layers = []
    while isinstance(stack, (CutConnections, Guard, Cors, OperationRouter)):
        layers.append(type(stack))
        stack = stack.app
    # CutConnections: a recorded server's cut connection (an empty check unless a scenario cut one)
    assert layers == [CutConnections, Guard, Cors, OperationRouter]
    routes = [r for r in app.router.routes if isinstance(r, Route)]
    assert routes
    assert all(r.path.startswith("/__mock") for r in routes)  # Starlette's router: admin and dashboard only


def test_routing_picks_the_route_starlette_would_pick_for_every_operation(operations: Operations) -> None:
    ordered = [r for api in operations.apis.values() for r in api.routes]
    # the same routes as Starlette would hold them, in the same order
    starlette = [Route(r.path, r.endpoint, methods=[r.method]) for r in ordered]
    checked = 0
    for route in ordered:
        path = route.path.replace("{", "x").replace("}", "")  # every parameter filled with some text
        for method in sorted(route.methods):
            scope = _scope(method, path)
            expected = _starlette_choice(starlette, scope)
            chosen = operations.match(method, path)
            assert expected is not None
            assert chosen is not None, f"{method} {path}"
            assert (chosen[0].path, chosen[0].method, chosen[1]) == (
                expected[0].path,
                route.method if method == "HEAD" else method,
                expected[1],
            ), f"{method} {path}"
            assert chosen[0].endpoint is ordered[starlette.index(expected[0])].endpoint
            checked += 1
    assert checked >= 40  # every operation of the four bundled APIs


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/__mock/nothing", 404),  # admin: the admin listing
        ("GET", "/v1/nothing/here", 404),  # unknown: the listing of operations
        ("PATCH", "/v1/messages/async/m1/status", 405),  # a method the path does not allow
        ("GET", "/v1/messages/async/m1/status/", 404),  # trailing slash: no operation, no redirect
        ("GET", "/v1/messages/async//status", 404),  # an empty parameter matches nothing
    ],
)
def test_what_is_no_operation_is_refused_by_the_one_table(
    operations: Operations, method: str, path: str, status: int
) -> None:
    assert operations.match(method, path) is None
    assert operations.refusal(_scope(method, path)).status_code == status


def test_a_root_path_is_taken_off_before_routing() -> None:
    client = TestClient(create_app(settings()), root_path="/api")  # the path the server sees keeps it
    created = client.post("/api/v1/messages/async", json=BODY, headers=AUTH["privategpt"])
    assert created.status_code == 200, created.text
    status = f"/api/v1/messages/async/{created.json()['message_id']}/status"
    assert client.get(status, headers=AUTH["privategpt"]).status_code == 200
    entries = client.get("/api/__mock/journal").json()
    assert [e["operation"] for e in entries] == ["createAsyncMessage", "getAsyncMessageStatus"]
    assert client.get("/api/v1/nothing").status_code == 404


def test_an_operation_sees_the_keys_starlette_routing_would_set() -> None:
    seen: dict[str, Any] = {}

    async def endpoint(request: Request) -> Response:
        seen.update(
            route=request.scope["route"],
            router=request.scope["router"],
            endpoint=request.scope["endpoint"],
            params=request.path_params,
        )
        return Response(status_code=204)

    app = create_app(settings())
    operations: Operations = app.state.operations
    route = OperationRoute.of("GET", "/probe/{item_id}", endpoint)
    operations.serve(ApiRoutes("probe", (route,), ErrorShape()))
    answer = TestClient(app).get("/probe/42")
    assert answer.status_code == 204
    assert seen == {"route": route, "router": app.router, "endpoint": endpoint, "params": {"item_id": "42"}}
    assert route.path_format == "/probe/{item_id}"


def test_the_journal_shows_the_path_as_the_request_url_does(mock: Mock) -> None:
    headers = AUTH["privategpt"]
    mock.client.get("/v1/messages/async/a%3Fb/status", headers=headers)
    mock.client.get("/v1/messages/async/plain/status?x=1&y=%20", headers=headers)
    first, second = mock.journal()[-2:]
    assert (first["path"], first["query"]) == ("/v1/messages/async/a%3Fb/status", "")
    assert (second["path"], second["query"]) == ("/v1/messages/async/plain/status", "x=1&y=%20")


@pytest.mark.parametrize(
    ("headers", "version", "expected"),
    [
        ([], "1.1", False),
        ([(b"content-length", b"0")], "1.1", False),
        ([(b"content-length", b"12")], "1.1", True),
        ([(b"transfer-encoding", b"chunked")], "1.1", True),
        ([], "2", True),  # HTTP/2 frames a body without either header
    ],
)
def test_a_body_is_read_unless_http_1_framing_says_there_is_none(
    headers: list[tuple[bytes, bytes]], version: str, expected: bool
) -> None:
    assert _may_have_body({"headers": headers, "http_version": version}) is expected


def test_a_chunked_body_without_content_length_is_still_read_and_validated(mock: Mock) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "m", "max_tokens": 8, '
        yield b'"messages": [{"role": "user", "content": "Hi"}]}'

    headers = {**AUTH["privategpt"], "Content-Type": "application/json"}
    created = mock.client.post("/v1/messages/async", content=chunks(), headers=headers)
    assert created.status_code == 200, created.text
    refused = mock.client.post("/v1/messages/async", content=iter([b'{"model": 1}']), headers=headers)
    assert refused.status_code == 400


def test_a_get_with_a_declared_body_still_has_it_read() -> None:
    # too large for the limit: only reading it finds out (PrivateGPT answers 400 for that)
    small = TestClient(create_app(settings(max_body_bytes=10, strict=False)))
    answer = small.request(
        "GET", "/v1/messages/async/m1/status", content=b"x" * 64, headers=AUTH["privategpt"]
    )
    assert answer.status_code == 400
    assert "larger than 10 bytes" in answer.text


@pytest.mark.parametrize("text", ["word ", 'a "quoted"\\ back\nslash', "é 中 \u2028", ""])
def test_a_token_frame_is_the_event_the_vendor_encodes(text: str) -> None:
    resource = Resource("privategpt", "m-1", {}, "happy", None, None, 0.0)  # type: ignore[arg-type]
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "block_id": "block_" + _hex(resource, "block"),
        "delta": {"type": "text_delta", "text": text},
    }
    frames = _Frames.__new__(_Frames)  # token() reads no state of the encoder
    assert frames.token(resource, text, 3) == _event(delta)


def test_serve_writes_no_access_log_line_per_request_unless_asked() -> None:
    assert _parser().parse_args(["serve"]).access_log is False
    assert _parser().parse_args(["serve", "--access-log"]).access_log is True


def test_scenario_triggers_are_looked_for_in_every_string_of_the_body_once() -> None:
    body = {"model": "m", "n": 3, "ok": True, "none": None, "messages": [{"content": ["Please FAIL now"]}]}
    assert body_texts(body) == ("m", "please fail now")
    catalog = load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=frozenset({"privategpt"}))
    scenarios = catalog["privategpt"].scenarios.values()
    triggered = [s for s in scenarios if s.match_text is not None]
    assert triggered
    for scenario in triggered:
        hit = {"messages": [{"role": "user", "content": f"x {scenario.match_text.upper()} y"}]}  # type: ignore[union-attr]
        assert scenario.matches(hit)
        assert scenario.matches_texts(body_texts(hit))
        assert not scenario.matches({"messages": [{"content": 42}]})


def test_a_trigger_is_found_inside_one_string_never_across_two() -> None:
    catalog = load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=frozenset({"privategpt"}))
    api = catalog["privategpt"]
    scenario = next(s for s in api.triggers if s.match_text and len(s.match_text) > 2)
    text = scenario.match_text or ""
    split = {"messages": [{"content": text[:2]}, {"content": text[2:]}]}
    assert api.choose_by_trigger(split) is not scenario
    assert api.choose_by_trigger({"messages": [{"content": f"a{text.upper()}b"}]}) is scenario


@pytest.mark.parametrize(
    "content",
    [{"a": "é ☃ \u2028", "n": [1, 2.5, -0.0, 10**30, None, True]}, [], "x", {"nested": {"k": [{}]}}],
)
def test_the_json_response_renders_the_same_bytes_as_starlettes(content: object) -> None:
    assert JSONResponse(content).body == starlette.responses.JSONResponse(content).body


def test_the_json_response_refuses_what_starlettes_refuses() -> None:
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        JSONResponse({"x": float("nan")})


def test_minted_uuids_are_what_uuid_would_write_for_the_same_bits() -> None:
    engine = create_app(settings(seed=11)).state.engine
    draws = random.Random(11)
    for _ in range(2_000):
        expected = str(uuid.UUID(int=draws.getrandbits(128), version=4))
        assert engine.new_uuid() == expected


SLOW_READS = """api: privategpt
description: Status reads wait 300 ms.
steps:
  - state: pending
    fault: {latency: 300ms, operations: [getAsyncMessageStatus]}
"""


def test_a_read_held_by_a_fault_delay_sees_a_delete_made_meanwhile() -> None:
    """The fault gate's lookup is reused by the handler only when nothing awaited in between."""

    async def scenario() -> tuple[int, int]:
        app = create_app(settings(clock="real"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            put = await client.put(
                "/__mock/scenarios/privategpt/slow-reads",
                content=SLOW_READS,
                headers={"Content-Type": "application/yaml"},
            )
            assert put.status_code == 201, put.text
            headers = {**AUTH["privategpt"], "X-Mock-Scenario": "slow-reads"}
            body = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}
            created = await client.post("/v1/messages/async", json=body, headers=headers)
            assert created.status_code == 200, created.text
            message = created.json()["message_id"]
            status = f"/v1/messages/async/{message}/status"

            async def delete_soon() -> int:
                await asyncio.sleep(0.1)
                path = f"/v1/messages/async/{message}/delete"
                deleted = await client.delete(path, headers=AUTH["privategpt"])
                return deleted.status_code

            read, deleted = await asyncio.gather(
                client.get(status, headers=AUTH["privategpt"]), delete_soon()
            )
            return read.status_code, deleted

    read, deleted = asyncio.run(scenario())
    assert deleted == 200
    assert read == 404


def test_iso_writes_what_datetime_writes_also_where_microseconds_round_up() -> None:
    draws = random.Random(5)
    moments = [0.0, -1.5, 1e9 + 0.9999995, 1e9 + 0.9999994, 1_700_000_000.0000005, 221_845_391_999.25]
    moments += [draws.uniform(-1e9, 2.2e11) for _ in range(5_000)]
    for moment in moments:
        expected = datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")
        assert iso.__wrapped__(moment, naive=True) == expected.removesuffix("+00:00"), moment
        assert iso.__wrapped__(moment) == expected.removesuffix("+00:00") + "Z", moment


@pytest.mark.parametrize(
    ("path", "root", "routed"),
    [
        ("/v1/x", "", "/v1/x"),
        ("/api/v1/x", "/api", "/v1/x"),
        ("/api", "/api", ""),
        ("/apix/v1", "/api", "/apix/v1"),  # a longer first segment is not under the root
        ("/other", "/api", "/other"),
    ],
)
def test_the_root_path_comes_off_as_starlette_takes_it_off(path: str, root: str, routed: str) -> None:
    scope = _scope("GET", path, root_path=root)
    assert route_path(scope) == routed == starlette_route_path(scope)


class Lookups:
    """Counts the store's resource lookups (``held`` without a coroutine, ``get`` with one)."""

    def __init__(self, engine: Engine) -> None:
        self.calls: list[str] = []
        state = engine.state
        held, get = state.held, state.get

        def counted_held(namespace: str, api: str, resource_id: str) -> Resource | None:
            self.calls.append("held")
            return held(namespace, api, resource_id)

        async def counted_get(namespace: str, api: str, resource_id: str) -> Resource | None:
            self.calls.append("get")
            return await get(namespace, api, resource_id)

        state.held = counted_held  # type: ignore[method-assign]
        state.get = counted_get  # type: ignore[method-assign]


@pytest.mark.parametrize("faulted", [False, True])
def test_a_status_read_looks_its_resource_up_once(faulted: bool) -> None:
    """The replay stage, the fault gate and the handler share one lookup (issue 20's speed); on the
    memory store it is the plain ``held``, no coroutine. With a scenario step's fault (a delay of 0)
    the gate still uses that lookup."""
    app = create_app(settings())
    engine: Engine = app.state.engine
    client = TestClient(app)
    headers = AUTH["privategpt"]
    if faulted:
        put = client.put(
            "/__mock/scenarios/privategpt/faulted-reads",
            content=FAULTED_READS,
            headers={"Content-Type": "application/yaml"},
        )
        assert put.status_code == 201, put.text
        headers = {**headers, "X-Mock-Scenario": "faulted-reads"}
    lookups = Lookups(engine)
    created = client.post("/v1/messages/async", json=BODY, headers=headers)
    assert created.status_code == 200, created.text
    assert lookups.calls == []  # a create addresses no resource (its id is minted)
    status = f"/v1/messages/async/{created.json()['message_id']}/status"
    for _ in range(3):
        read = client.get(status, headers=AUTH["privategpt"])
        assert read.status_code == 200, read.text
    assert lookups.calls == ["held"] * 3
    gone = client.get("/v1/messages/async/nothing/status", headers=AUTH["privategpt"])
    assert gone.status_code == 404
    assert lookups.calls == ["held"] * 4  # memory holds everything: its None is the answer
    resource = engine.state.held("default", "privategpt", read.json()["message_id"])
    assert resource is not None
    # with the step's fault, the gate met it on each read, on the resource of that one lookup
    assert resource.extra.get("fault_calls") == ({0: 3} if faulted else None)


FAULTED_READS = """api: privategpt
description: Status reads meet a fault of no delay.
steps:
  - state: pending
    fault: {latency: 0ms, operations: [getAsyncMessageStatus]}
"""


def test_an_echoed_value_checked_once_is_judged_as_the_validator_judges_it() -> None:
    """The create echo remembers the check of a scalar value (one pure-Python validation per field
    and create cost microseconds), per validator and per type: 1 is an integer, True is not."""
    catalog = load_catalog(tuple(bundled_specs()), bundled_scenarios(), apis=frozenset({"privategpt"}))
    api = catalog["privategpt"]
    agreement = Agreement(api.spec, FakeData(api.spec.data), 0)
    integer = Draft202012Validator({"type": "integer"})
    choice = Draft202012Validator({"enum": ["4k", "hd"]})
    for _ in range(2):  # the second time from what was remembered
        assert agreement._valid(integer, 1) is True
        assert agreement._valid(integer, True) is False
        assert agreement._valid(integer, 1.5) is False
        assert agreement._valid(choice, "4k") is True
        assert agreement._valid(choice, "8k") is False
        assert agreement._valid(choice, ["4k"]) is False  # a list: checked each time, never kept
    assert len(agreement._checked) == 5

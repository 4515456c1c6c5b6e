"""``mockserver.cors.Cors`` answers exactly as Starlette's ``CORSMiddleware`` does."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from mockserver.cors import Cors


async def plain(request: Request) -> Response:
    return Response("{}", media_type="application/json")


async def varying(request: Request) -> Response:
    response = Response("{}", media_type="application/json", headers={"Vary": "Accept"})
    response.raw_headers.append((b"vary", b"Accept-Encoding"))
    return response


def _app(middleware: type[CORSMiddleware]) -> Starlette:
    routes = [Route("/plain", plain, methods=["GET", "POST"]), Route("/varying", varying)]
    cors = Middleware(
        middleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"], expose_headers=["x-a"]
    )
    return Starlette(routes=routes, middleware=[cors])


@pytest.mark.parametrize("path", ["/plain", "/varying"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://localhost:5173"},
        {"Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
def test_the_same_answers_as_starlette(path: str, headers: dict[str, str], method: str) -> None:
    with TestClient(_app(CORSMiddleware)) as stock, TestClient(_app(Cors)) as ours:
        expected = stock.request(method, path, headers=headers)
        found = ours.request(method, path, headers=headers)
    assert found.status_code == expected.status_code
    assert found.headers.multi_items() == expected.headers.multi_items()
    assert found.content == expected.content


def test_without_origin_the_answer_varies_on_origin() -> None:
    with TestClient(_app(Cors)) as client:
        assert client.get("/varying").headers.get_list("vary") == ["Accept, Accept-Encoding, Origin"]
        assert client.get("/plain").headers.get_list("vary") == ["Origin"]

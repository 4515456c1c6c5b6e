"""Admin answers and request bodies: ``application/problem+json`` errors that no value can break,
and JSON bodies read so that malformed ones become problems instead of exceptions."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mockserver.safejson import BadJson, loads


class ProblemResponse(JSONResponse):
    """problem+json, ASCII-escaped: a value echoed from a hostile request (a lone surrogate,
    NaN) must not turn the refusal itself into a 500."""

    media_type = "application/problem+json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 problem; ``extra`` members are added as they are, or as text if JSON cannot hold them."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({name: _plain(value) for name, value in extra.items()})
    return ProblemResponse(body, status_code=status)


def _plain(value: Any) -> Any:
    try:
        json.dumps(value, ensure_ascii=True, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        return repr(value)[:200]
    return value


async def read_json(request: Request) -> Any:
    """The request's JSON body (None when empty), or the 400 problem saying what is wrong with it."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return loads(raw)
    except BadJson as error:
        return problem(400, "Malformed JSON body", str(error))


def is_problem(value: Any) -> bool:
    """Whether ``read_json`` answered with a problem instead of a body."""
    return isinstance(value, Response)

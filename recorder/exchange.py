"""One request and its answer as the recorder sees them, and how their parts are read."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lifecycle.expressions import parse_expression
from recorder.routes import Route


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and its answer, as the observation code needs them."""

    route: Route
    query: Mapping[str, str]
    headers: Mapping[str, str]
    request_body: Any
    status: int
    response_body: Any
    retry_after: float | None
    sent: float
    received: float
    connection: Any = None  # the client's connection (host, port): a drop is told per connection


def json_or_none(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def evaluate(expression: str, exchange: Exchange, *, response_body: Any = None) -> Any:
    return parse_expression(expression).evaluate(
        path=exchange.route.path,
        query=exchange.query,
        headers=exchange.headers,
        request_body=exchange.request_body,
        response_body=response_body if response_body is not None else exchange.response_body,
    )

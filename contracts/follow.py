"""Conformance's half of ``contracts.drops``: the request after a 5xx, on Schemathesis' connection.

Schemathesis resends a request once on a fresh connection when the server dropped the kept-alive
one (as browsers do), so a drop after a 5xx never shows in its results. While the kit's
conformance runs, its HTTP transport is wrapped: after a 5xx answer the kit sends ``GET /`` on the
same session (the same pooled connection) and records whether it failed. The wrapper is set on the
transport instance only for the duration of the run and removed after it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import requests
from schemathesis.transport.requests import REQUESTS_TRANSPORT

from contracts.drops import Drop, Drops, same_connection


@contextmanager
def following_5xx(drops: Drops, references: Mapping[str, str]) -> Iterator[None]:
    """Within: every 5xx conformance receives is followed by a request on the same connection."""
    send = REQUESTS_TRANSPORT.send

    def sending(case: Any, *, session: requests.Session | None = None, **kwargs: Any) -> Any:
        response = send(case, session=session, **kwargs)
        if session is not None and response.status_code >= 500:
            _follow(session, response, drops, references)
        return response

    REQUESTS_TRANSPORT.send = sending  # type: ignore[method-assign]
    try:
        yield
    finally:
        del REQUESTS_TRANSPORT.send  # the class's method again


def _follow(session: requests.Session, response: Any, drops: Drops, references: Mapping[str, str]) -> None:
    drops.errors += 1
    request = response.request
    base = str(request.url).split("/", 3)[:3]
    root = "/".join(base) + "/"
    try:
        # no headers of the request before (its Content-Length would make a server wait for a
        # body): any answer, 401 too, shows the connection is alive
        session.get(root, timeout=5)
    except requests.RequestException as error:
        raw = request.body
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        lines = same_connection(
            str(request.method), str(request.url), dict(request.headers), body, references
        )
        reason = f"{type(error).__name__}: {str(error)[:160]}"
        drops.found.append(Drop(str(request.method), str(request.url), response.status_code, reason, lines))

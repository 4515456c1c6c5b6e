"""Connections a server drops after a server error: a finding of their own, on the request before.

Some servers (Letta 0.16.8 after its DELETE 500) answer a 5xx on a kept-alive connection and then
reset that connection when the client reuses it. Whatever request comes next fails, in whatever
check happens to send it, or not at all when the client opens a new connection instead; so after
every 5xx the kit itself sends the next request on that connection (``GET /``, any answer will do)
and records whether it failed. The finding is ``transport.connection_dropped`` on the request
that was answered 5xx; no later check pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from lifecycle.openapi import Operation

CHECK = "transport.connection_dropped"


@dataclass(frozen=True, slots=True)
class Drop:
    """A request answered 5xx, after which the next request on the same connection failed."""

    method: str
    url: str
    status: int
    error: str
    reproduce: tuple[str, ...] = ()


@dataclass
class Drops:
    """What the kit saw after the 5xx answers of one run (both its own client and conformance's)."""

    errors: int = 0  # 5xx answers, each followed by a request on the same connection
    found: list[Drop] = field(default_factory=list)


def label_of(operations: Mapping[str, Operation], method: str, url: str) -> str:
    """``METHOD /path/{template}`` of the spec operation ``url`` belongs to (else the path sent)."""
    path = urlsplit(url).path
    for operation in operations.values():
        if operation.method.upper() != method.upper():
            continue
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(operation.path))
        if re.fullmatch(r"(?:/[^/]+)*?" + pattern, path):
            return f"{method.upper()} {operation.path}"
    return f"{method.upper()} {path}"


_HOP = {
    "content-length",
    "host",
    "connection",
    "accept-encoding",
    "user-agent",
    "accept",
    "transfer-encoding",
}


def same_connection(
    method: str, url: str, headers: Mapping[str, str], body: str | None, references: Mapping[str, str]
) -> tuple[str, ...]:
    """A script that sends the 5xx request and then ``GET /`` on one connection, as an SDK does
    (curl retries a dropped reused connection on its own, so it cannot show the drop); credentials
    are read from the environment references."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    variables = {name.lower(): variable for name, variable in references.items()}
    sent = ", ".join(
        f"{name!r}: os.environ[{variables[name.lower()]!r}]"
        if name.lower() in variables
        else f"{name!r}: {value!r}"
        for name, value in headers.items()
        if name.lower() not in _HOP
    )
    kind = "HTTPSConnection" if parts.scheme == "https" else "HTTPConnection"
    return (
        "python3 - <<'PY'   # two requests on one kept-alive connection, as an SDK sends them",
        "import http.client, os",
        f"c = http.client.{kind}({parts.hostname!r}, {port})",
        f"c.request({method!r}, {target!r}, body={body!r}, headers={{{sent}}})",
        "r = c.getresponse(); print(r.status, r.read()[:200])",
        "c.request('GET', '/'); print(c.getresponse().status)  # a dropped connection raises here",
        "PY",
    )

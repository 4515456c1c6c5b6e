"""The guard: who may talk to the mock at all, and who may drive its admin API.

A pure ASGI middleware, outermost, in front of every route (see the threat model in
ARCHITECTURE.md):

- every request: the ``Host`` header must name a loopback address, ``localhost`` (or a
  ``*.localhost`` name), the bound host, or a host allowed with ``--allow-host``; a DNS-rebinding
  page reaches the mock under its own name and is refused here (403). On API routes this is the
  only check, and it costs one scan of the header list plus a dictionary lookup.
- ``/__mock/``: a request with an ``Origin`` other than the mock's own is refused (403); with
  ``--admin-token T`` the header ``X-Mock-Admin-Token: T`` is required (401); state-changing calls
  (POST, PUT, PATCH, DELETE) must send ``Content-Type: application/json`` (or a YAML type for
  ``PUT /__mock/scenarios/...``), so no cross-site "simple request" can reach them (415); bodies
  over the admin limit are refused (413) before any handler runs. The ``Origin`` header is removed
  before the CORS middleware sees the request, so admin answers never carry CORS headers.

``admin_refusal(...)`` gives the same decision as data, for modules that need to ask directly.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockserver.paths import ADMIN_PATHS, PREFIX, is_page_file
from mockserver.problems import problem
from mockserver.settings import Settings

ADMIN_TOKEN_HEADER = "x-mock-admin-token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
SCENARIO_PREFIX = f"{PREFIX}/scenarios/"
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


class HostRule:
    """Which ``Host`` header values are allowed. Decisions are cached per value (bounded)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        names = {name.strip().lower().rstrip(".") for name in allowed if name.strip()}
        self.any_host = "*" in names
        self.any_ip = bool(names & _WILDCARD_BINDS)  # bound to every interface: its addresses are ours
        self.suffixes = tuple(
            "." + name.lstrip("*").lstrip(".") for name in names if name.startswith(("*.", "."))
        )
        # ".example.com" allows the domain and every name under it, as Django's ALLOWED_HOSTS does
        self.names = {name.strip("[]") for name in names if not name.startswith(("*", "."))}
        self.names.update(suffix[1:] for suffix in self.suffixes)
        self._seen: dict[bytes, bool] = {}

    def allows(self, header: bytes | None) -> bool:
        """Whether a request with this ``Host`` header (None: none sent) may be served."""
        if header is None or self.any_host:
            return True  # no Host at all is HTTP/1.0 from a tool, never a browser
        known = self._seen.get(header)
        if known is None:
            known = self._decide(header)
            if len(self._seen) < 1024:  # a flood of random Host values must not grow memory
                self._seen[header] = known
        return known

    def _decide(self, header: bytes) -> bool:
        host = host_name(header.decode("latin-1"))
        if host == "localhost" or host.endswith(".localhost") or host in self.names:
            return True
        if self.suffixes and host.endswith(self.suffixes):
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return address.is_loopback or self.any_ip


def host_name(value: str) -> str:
    """The host part of a ``Host`` header or netloc, lower case, without port or brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    """What the admin API demands of a request."""

    hosts: HostRule
    token: str | None = None
    max_body_bytes: int = 1_048_576


def admin_refusal(
    policy: AdminPolicy, method: str, path: str, headers: dict[bytes, bytes]
) -> Response | None:
    """The problem response refusing an admin request, or None when it may go on (body size apart)."""
    host = headers.get(b"host")
    origin = headers.get(b"origin")
    if origin is not None and not _same_origin(origin, host):
        return problem(
            403,
            "Foreign origin",
            "the admin API answers only its own origin (or clients that send no Origin); "
            "a web page on another origin may not drive the mock",
            origin=origin.decode("latin-1")[:200],
        )
    if policy.token is not None and not is_page_file(method, path):  # the page's files hold no data
        sent = headers.get(ADMIN_TOKEN_HEADER.encode(), b"")
        if not hmac.compare_digest(sent, policy.token.encode()):
            return problem(
                401,
                "Admin token required",
                f"this mock was started with --admin-token; send it as the header {ADMIN_TOKEN_HEADER}",
            )
    if method in STATE_CHANGING:
        media = headers.get(b"content-type", b"").decode("latin-1").split(";", 1)[0].strip().lower()
        scenario_put = method == "PUT" and path.startswith(SCENARIO_PREFIX)
        accepted = JSON_TYPES | YAML_TYPES if scenario_put else JSON_TYPES
        if media not in accepted:
            return problem(
                415,
                "Unsupported content type",
                f"{method} {path} needs Content-Type: {' or '.join(sorted(accepted))} "
                "(so that no cross-site form or simple request can reach the admin API)",
                found=media or None,
            )
    declared = headers.get(b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared[:20]) > policy.max_body_bytes):
        return _too_large(policy)
    return None


def _same_origin(origin: bytes, host: bytes | None) -> bool:
    text = origin.decode("latin-1").strip().lower()
    scheme, separator, netloc = text.partition("://")
    if not separator or scheme not in ("http", "https") or host is None:
        return False  # "null" (sandboxed frames, file://) and anything unparseable are foreign
    return netloc.rstrip("/") == host.decode("latin-1").strip().lower()


def _too_large(policy: AdminPolicy) -> Response:
    return problem(
        413, "Body too large", f"admin request bodies are limited to {policy.max_body_bytes} bytes"
    )


class Guard:
    """The ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp, policy: AdminPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = None
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
                break
        if not self.policy.hosts.allows(host):
            shown = (host or b"").decode("latin-1")[:200]
            refusal = problem(
                403,
                "Host not allowed",
                f"the Host header {shown!r} names neither this machine nor the bound host; "
                "start the mock with --allow-host NAME to serve it under that name",
            )
            await refusal(scope, receive, send)
            return
        path: str = scope["path"]
        if path != PREFIX and not path.startswith(ADMIN_PATHS):
            await self.app(scope, receive, send)
            return
        await self._admin(scope, receive, send)

    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])  # later duplicates win; a browser never duplicates these
        refusal = admin_refusal(self.policy, scope["method"], scope["path"], headers)
        if refusal is None and scope["method"] in STATE_CHANGING:
            body = await _read_limited(receive, self.policy.max_body_bytes)
            if body is None:
                refusal = _too_large(self.policy)
            else:
                receive = _replay(body, receive)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        # no Origin below this point: the CORS middleware then adds nothing to admin answers
        scope = dict(scope)
        scope["headers"] = [(name, value) for name, value in scope["headers"] if name != b"origin"]
        await self.app(scope, receive, send)


async def _read_limited(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it passes ``limit`` bytes (the rest is never buffered)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then the real channel: a disconnect reaches the handler as usual

    return replay


def admin_policy(settings: Settings) -> AdminPolicy:
    """The policy from ``Settings`` (kept here so the guard's inputs are read in one place)."""
    return AdminPolicy(HostRule(settings.allowed_hosts), settings.admin_token, settings.admin_max_body_bytes)

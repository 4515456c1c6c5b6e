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
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lifecycle.hosts import HostRule
from mockserver.paths import ADMIN_PATHS, PREFIX, is_page_file
from mockserver.problems import problem
from mockserver.settings import Settings

ADMIN_TOKEN_HEADER = "x-mock-admin-token"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPES = frozenset({"application/json"})
YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml"})
SCENARIO_PREFIX = f"{PREFIX}/scenarios/"


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
        refused = self.policy.hosts.refusal(scope["headers"], "the mock")
        if refused is not None:
            await problem(403, "Host not allowed", refused)(scope, receive, send)
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

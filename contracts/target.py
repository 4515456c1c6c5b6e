"""The server under test, and a record of every exchange (to reproduce a finding as curl commands).

Errors (the root is ``CheckError``, beside the core's errors because the kit reports, not raises):

    CheckError
    ├── Unreachable        nothing answered at the base URL before the run began (exit 2)
    └── TransportFailure   a request failed on the wire during the run: reset, timeout, refused,
                           protocol error. Recorded as a finding of the check in progress, never
                           a crash.

Credentials never appear in clear: every header the user gave that carries a credential is written
as an environment reference (``$COMEBACK_AUTHORIZATION``) in reproductions, and the report says
which header each reference stands for.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from contracts.drops import Drop, Drops, same_connection
from lifecycle.errors import ComebackError

# header names whose value is a credential even when no security scheme names them
_SECRET_NAME = re.compile(r"auth|token|key|secret|password|cookie|session", re.I)


class CheckError(ComebackError):
    """The root of the kit's errors."""


class Unreachable(CheckError):
    """The target did not answer at all before the run began (connection refused, DNS, timeout)."""


class TransportFailure(CheckError):
    """A request of the run failed on the wire; ``exchange`` is what was sent (status None)."""

    def __init__(self, message: str, exchange: Exchange) -> None:
        super().__init__(message)
        self.exchange = exchange


def secret_references(headers: Mapping[str, str], credential_names: frozenset[str]) -> dict[str, str]:
    """{header name: environment variable} for every given header that carries a credential."""
    return {
        name: "COMEBACK_" + re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_")
        for name in headers
        if name.lower() in credential_names or _SECRET_NAME.search(name)
    }


def hide_secrets(text: str, headers: Mapping[str, str], references: Mapping[str, str]) -> str:
    """``text`` (curl commands) with every credential value replaced by its environment reference."""
    for name, variable in references.items():
        value = headers.get(name)
        if not value:
            continue
        # a whole quoted header first (so the reference is inside double quotes and expands), then
        # any other occurrence of the value
        pattern = re.compile(r"'" + re.escape(name) + r": " + re.escape(value) + r"'", re.I)
        replacement = f'"{name}: ${variable}"'
        text = pattern.sub(replacement.replace("\\", "\\\\"), text)
        if len(value) >= 8:  # anywhere else too, unless so short it could be part of other text
            text = text.replace(value, f"${{{variable}}}")
    return text


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back (``status`` None: no answer, ``error`` says why)."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    status: int | None
    response: Any
    at: float
    error: str | None = None

    def curl(
        self, references: Mapping[str, str] | None = None, quote: Callable[[str], str] = shlex.quote
    ) -> str:
        """A runnable curl command; credentials as ``$COMEBACK_...`` references; ``quote`` quotes the
        URL and the body (a reproduction script puts its variables in them)."""
        parts = ["curl", "-sS", "-X", self.method, quote(self.url)]
        for name, value in self.headers.items():
            variable = (references or {}).get(name)
            parts += ["-H", f'"{name}: ${variable}"' if variable else shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += [
                "-H",
                shlex.quote("Content-Type: application/json"),
                "-d",
                quote(json.dumps(self.body)),
            ]
        return " ".join(parts)

    def outcome(self) -> str:
        return f"answered {self.status}" if self.status is not None else f"failed: {self.error}"


def check_base_url(base_url: str) -> str | None:
    """A usage hint when ``base_url`` cannot be a base URL, else None."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        suggestion = f"http://{base_url}" if "://" not in base_url else None
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        return f"--base-url {base_url!r} needs a scheme and a host, e.g. http://127.0.0.1:8000{hint}"
    return None


def describe(error: BaseException) -> str:
    """A one-line name for a transport error: its kind and the cause the OS gave."""
    kinds = {
        httpx.ConnectError: "connection refused or failed",
        httpx.ReadError: "connection reset or closed while reading the answer",
        httpx.WriteError: "connection reset while sending",
        httpx.RemoteProtocolError: "the server broke the HTTP protocol (or closed the connection)",
        httpx.TimeoutException: "timed out",
    }
    kind = next((text for cls, text in kinds.items() if isinstance(error, cls)), "transport error")
    detail = str(error) or type(error).__name__
    return f"{kind} ({type(error).__name__}: {detail})"


@dataclass
class Target:
    """A base URL with the headers every request carries, and the log of what was exchanged."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    log: list[Exchange] = field(default_factory=list)
    references: Mapping[str, str] = field(default_factory=dict)
    drops: Drops = field(default_factory=Drops)

    def __post_init__(self) -> None:
        self.client = self.fresh_client()

    def ensure_reachable(self) -> None:
        """Raise Unreachable unless something answers at the base URL (any status will do)."""
        try:
            self.client.get("/", timeout=5.0)
        except httpx.HTTPError as error:
            raise Unreachable(f"{self.base_url} is unreachable: {describe(error)}") from None

    def close(self) -> None:
        self.client.close()

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> tuple[int, Any, httpx.Response]:
        """Send one request; (status, parsed JSON body or text, response). Raises TransportFailure."""
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items() if v is not None}}
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as error:
            url = str(self.client.build_request(method, path, params=kwargs["params"]).url)
            sent = Exchange(
                method, url, dict(self.headers), json_body, None, None, time.monotonic(), describe(error)
            )
            self.log.append(sent)
            raise TransportFailure(f"{method} {url}: {describe(error)}", sent) from None
        parsed = parse_body(response)
        url = str(response.request.url)
        answered = Exchange(
            method, url, dict(self.headers), json_body, response.status_code, parsed, time.monotonic()
        )
        self.log.append(answered)
        if response.status_code >= 500:
            self.follow_up(answered)
        return response.status_code, parsed, response

    def fresh_client(self) -> httpx.Client:
        """A client of its own (same base URL and headers), for a request on its own connection."""
        return httpx.Client(
            base_url=self.base_url.rstrip("/"), headers=dict(self.headers), timeout=self.timeout
        )

    def follow_up(self, answered: Exchange, client: httpx.Client | None = None) -> None:
        """The next request on the connection a 5xx came over (``contracts.drops``): the client
        (``client``, else the target's own) keeps it alive, so this ``GET /`` reuses it; a failure
        means the server dropped it."""
        self.drops.errors += 1
        try:
            (client or self.client).get("/", timeout=5.0)
        except httpx.HTTPError as error:
            body = None if answered.body is None else json.dumps(answered.body)
            headers = {**dict(self.headers), **({"Content-Type": "application/json"} if body else {})}
            lines = same_connection(answered.method, answered.url, headers, body, self.references)
            self.drops.found.append(
                Drop(answered.method, answered.url, answered.status or 0, describe(error), lines)
            )


def parse_body(response: httpx.Response) -> Any:
    """The JSON body, else the text (invalid UTF-8 shown with replacement characters), never raising."""
    raw = response.content
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode("utf-8", "replace")

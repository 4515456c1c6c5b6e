"""The server under test, and a record of every exchange (to reproduce a finding as curl commands)."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and what came back."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: Any
    status: int | None
    response: Any
    at: float

    def curl(self) -> str:
        parts = ["curl", "-sS", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.body is not None:
            parts += [
                "-H",
                shlex.quote("Content-Type: application/json"),
                "-d",
                shlex.quote(json.dumps(self.body)),
            ]
        return " ".join(parts)


class Unreachable(Exception):
    """The target did not answer at all (connection refused, DNS, timeout on connect)."""


@dataclass
class Target:
    """A base URL with the headers every request carries, and the log of what was exchanged."""

    base_url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    log: list[Exchange] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.base_url.rstrip("/"), headers=dict(self.headers), timeout=self.timeout
        )

    def ensure_reachable(self) -> None:
        """Raise Unreachable unless something answers at the base URL (any status will do)."""
        try:
            self.client.get("/", timeout=5.0)
        except httpx.HTTPError as error:
            raise Unreachable(f"{self.base_url} is unreachable: {type(error).__name__}") from None

    def close(self) -> None:
        self.client.close()

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> tuple[int, Any, httpx.Response]:
        """Send one request; (status, parsed JSON body or text, response). Raises Unreachable."""
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items() if v is not None}}
        if json_body is not None:
            kwargs["json"] = json_body
        try:
            response = self.client.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Unreachable(f"{self.base_url} is unreachable: {error}") from None
        try:
            parsed: Any = response.json()
        except ValueError:
            parsed = response.text
        url = str(response.request.url)
        self.log.append(
            Exchange(
                method, url, dict(self.headers), json_body, response.status_code, parsed, time.monotonic()
            )
        )
        return response.status_code, parsed, response

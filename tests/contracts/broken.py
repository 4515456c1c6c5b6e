"""Deliberately broken servers: the real mock behind a wrapper that makes one specific mistake.

A ``Mistake`` sees each exchange (method, path, status, JSON body) and may answer instead of the mock
(``intercept``) or change what the mock answered (``rewrite``). Its ``memory`` persists per server.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Rewrite = Callable[[str, str, int, Any, dict[str, Any]], tuple[int, Any] | None]
Intercept = Callable[[str, str, dict[str, Any]], tuple[int, Any] | None]


@dataclass
class Mistake:
    rewrite: Rewrite | None = None
    intercept: Intercept | None = None
    memory: dict[str, Any] = field(default_factory=dict)


class Broken:
    """ASGI wrapper: the mock, except for one mistake."""

    def __init__(self, app: Any, mistake: Mistake) -> None:
        self.app = app
        self.mistake = mistake

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__mock"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        if self.mistake.intercept is not None:
            answer = self.mistake.intercept(method, path, self.mistake.memory)
            if answer is not None:
                await _send_json(send, *answer)
                return
        if self.mistake.rewrite is None:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        raw = b"".join(chunks)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:  # not JSON (a stream): pass it through untouched
            await send(start)
            await send({"type": "http.response.body", "body": raw})
            return
        changed = self.mistake.rewrite(method, path, start["status"], body, self.mistake.memory)
        status, body = changed if changed is not None else (start["status"], body)
        await _send_json(send, status, body)


async def _send_json(send: Any, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})

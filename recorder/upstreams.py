"""One connection to the target per client connection, so what a server does to a connection passes
through the proxy as it is: when the target cuts the connection after an answer (Letta after its
DELETE 500), the client's own connection is cut at the same request.

``Upstreams.get(key)`` gives the client (one connection) of a client connection ``key`` (the
ASGI scope's ``client``); the least recently used are closed beyond a bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Any

import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lifecycle.errors import ComebackError

MAX_UPSTREAMS = 32


class Upstreams:
    """httpx clients, one connection each, by client connection."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None) -> None:
        self.transport = transport
        self.clients: OrderedDict[Any, httpx.AsyncClient] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def get(self, key: Any) -> httpx.AsyncClient:
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = httpx.AsyncClient(
                timeout=httpx.Timeout(30.0, read=None),
                follow_redirects=False,
                transport=self.transport,
                limits=httpx.Limits(max_connections=1),
            )
            while len(self.clients) > MAX_UPSTREAMS:
                _, oldest = self.clients.popitem(last=False)
                task = asyncio.get_running_loop().create_task(oldest.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self.clients.move_to_end(key)
        return client

    def forget(self, key: Any) -> None:
        """The connection was cut: the next request of this client starts a new one."""
        client = self.clients.pop(key, None)
        if client is not None:
            task = asyncio.get_running_loop().create_task(client.aclose())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        for client in list(self.clients.values()):
            await client.aclose()
        self.clients.clear()
        for task in list(self._closing):
            await task


class ConnectionCut(ComebackError):
    """Raised after an answer has started, so the server closes the client's connection."""


class CutConnection(Response):
    """No answer: the client's connection is closed, as the target closed the proxy's."""

    def __init__(self) -> None:
        super().__init__(status_code=502)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # headers announce a body that never comes: the client's read fails, as it did on the target
        logging.getLogger("uvicorn.error").addFilter(_not_a_cut)  # not an application error
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-length", b"1")]})
        raise ConnectionCut("comeback record: the target cut this connection; so does the proxy")


def _not_a_cut(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionCut))

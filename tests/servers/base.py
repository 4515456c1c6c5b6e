"""Plumbing for the independent servers: the standard library's HTTP server, nothing from the mock.

A server here is a ``Handler`` subclass with a route table; ``serve(handler_class, defects)`` runs
it on a free 127.0.0.1 port in a thread and yields its base URL. Defects are switched per server:
``reset_after_500`` makes the server keep a connection alive after a 500 and then reset it when the
client reuses it (what Letta 0.16.8 does after its DELETE 500).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl

Route = tuple[str, re.Pattern[str], str]  # method, path pattern, handler method name
STATES: dict[str, dict[str, Any]] = {}  # base URL -> the state of the server serving it (for tests)


@dataclass(frozen=True)
class Defects:
    """The mistakes a server makes (all off: a correct server)."""

    token: str | None = None  # the credential required, or None for a deployment without auth
    reset_after_500: bool = False
    stream_status: int | None = None  # answer the stream with this status instead of opening it
    accept_invalid: bool = False  # 200 to invalid request bodies
    cancel_flips_after: float | None = None  # a cancelled resource turns completed this long after
    limit_500: bool = False  # 500 on a negative limit
    delete_500: bool = False
    drop_stream: bool = False  # end the stream without its terminal signal
    work_seconds: float = 1.0  # how long a resource works before it completes
    garbage_status: bool = False  # the status read answers 200 with bytes that are neither UTF-8 nor JSON
    # newest first, ``after`` gives the runs newer than the cursor (Letta 0.16.8: limit=1 and
    # after=<the one run shown> answer [] on a fresh agent; after=<3rd> gives the 2 newer runs)
    after_ignores_order: bool = False
    late_flip_after: float | None = None  # a completed resource turns failed this long after creation
    extra: dict[str, Any] = field(default_factory=dict)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[Handler], defects: Defects) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.defects = defects
        self.lock = threading.Lock()
        self.state: dict[str, Any] = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers
    routes: ClassVar[list[Route]] = []
    server: Server
    poisoned = False  # this connection answered a 500 and will be reset when reused

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def defects(self) -> Defects:
        return self.server.defects

    def handle_one_request(self) -> None:
        if self.poisoned:
            # wait for the client to reuse the kept-alive connection, then reset it instead of
            # answering: RST, not a clean close
            with contextlib.suppress(OSError):
                self.connection.recv(1, socket.MSG_PEEK)
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # the standard library answers 501 to a method it has no handler for; a web framework
        # answers 405 (with Allow) on a known path, as the servers imitated here do
        if code == 501 and getattr(self, "command", None):
            self._dispatch()
            return
        super().send_error(code, message, explain)

    def _dispatch(self) -> None:
        path, _, query = self.path.partition("?")
        self.query = dict(parse_qsl(query, keep_blank_values=True))
        self.raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.state.setdefault("paths", []).append(path)
        token = self.defects.token
        if token is not None and self.headers.get("Authorization") != token:
            self.json(401, {"detail": "Not authenticated"})
            return
        matched_path = False
        for method, pattern, name in self.routes:
            found = pattern.fullmatch(path)
            if found:
                matched_path = True
                if method == self.command:
                    getattr(self, name)(**found.groupdict())
                    return
        if matched_path:
            self.json(405, {"detail": "Method Not Allowed"}, allow=True)
        else:
            self.json(404, {"detail": "Not Found"})

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _dispatch

    def body(self) -> Any:
        """The JSON body; ValueError when it is not JSON."""
        return json.loads(self.raw_body) if self.raw_body else None

    def json(self, status: int, body: Any, *, allow: bool = False) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if allow:
            self.send_header(
                "Allow",
                ", ".join(sorted({m for m, p, _ in self.routes if p.fullmatch(self.path.split("?")[0])})),
            )
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)
        if status >= 500 and self.defects.reset_after_500:
            self.poisoned = True

    def sse(self, frames: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for frame in frames:
                self.wfile.write(frame)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


def route(method: str, pattern: str, name: str) -> Route:
    return method, re.compile(pattern), name


@contextmanager
def serve(handler: type[Handler], defects: Defects | None = None) -> Iterator[str]:
    """Serve ``handler`` with ``defects`` on a free 127.0.0.1 port; yields the base URL."""
    server = Server(handler, defects or Defects())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    STATES[url] = server.state
    try:
        yield url
    finally:
        STATES.pop(url, None)
        server.shutdown()
        server.server_close()


Clock = Callable[[], float]

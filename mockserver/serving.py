"""Running the mock as a process (``comeback serve``): graceful shutdown, a header timeout, logs.

- Shutdown: on the first SIGTERM or SIGINT the listener closes and ``Engine.begin_shutdown`` wakes
  every open stream, which ends at once (without its terminal frame, as a dropped connection
  would); requests in flight finish; the process exits when the connections are gone, and
  uvicorn's graceful timeout cancels whatever is left after ``GRACE_SECONDS``. A second signal
  exits at once.
- Header and body timeout: uvicorn's keep-alive timer stops as soon as a byte arrives, so a client
  that sends half a request line (or half a body) and stalls would hold its connection forever.
  ``HeaderTimeoutProtocol`` closes a connection (with a 408) whose request headers are not complete
  within ``COMEBACK_HEADER_TIMEOUT`` seconds of its first byte (or of connecting), or whose body is
  not complete within as many seconds again after its headers.
- Memory: what start-up built is frozen out of the garbage collector's walks (``gc.freeze``), and
  full collections (which walk every open stream) are rarer (``settle_memory``).
- Workers: ``run_workers`` gives each worker its own listening socket on the one port
  (``SO_REUSEPORT``), so the kernel spreads new connections evenly over the workers. With the
  single shared socket uvicorn makes, whichever worker wakes first accepts every pending
  connection: 5,000 streams over 2 workers split 3,349 / 1,651, and the fuller worker's words
  came twice as late when the machine's cores were contended.
- Logs: the mock's own lines (``comeback.*``, e.g. callbacks and forced evictions) are shown at
  the chosen level, and the access log shows query strings with credentials masked.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import sys
import threading
from types import FrameType
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.protocols.http.auto import AutoHTTPProtocol
from uvicorn.supervisors import Multiprocess

from lifecycle.errors import ComebackError
from mockserver import streams
from mockserver.engine import Engine
from mockserver.masking import Masker

GRACE_SECONDS = 3  # after the first signal, tasks still running this long are cancelled
HEADER_TIMEOUT_KEY = "COMEBACK_HEADER_TIMEOUT"  # read by worker processes too (they re-import this)
DEFAULT_HEADER_TIMEOUT = 10.0
_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderTimeoutProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (httptools or h11) plus a deadline for complete request headers.

    Both protocols create a new ``cycle`` exactly when a request's headers are complete, which is
    what this watches; it reads no other internals."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        super().data_received(data)
        cycle = self.cycle
        if cycle is not before:  # a request's headers are complete
            self._disarm()
            if cycle is not None and cycle.more_body:
                self._arm()  # its body must arrive within the same time again
        elif cycle is not None and not cycle.more_body and not cycle.response_complete:
            self._disarm()  # the body is complete: the app is answering
        elif self._header_timer is None and (cycle is None or cycle.response_complete):
            self._arm()  # bytes of the next request, whose headers are not complete yet

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        seconds = float(os.environ.get(HEADER_TIMEOUT_KEY, DEFAULT_HEADER_TIMEOUT))
        self._header_timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        cycle = self.cycle
        if self.transport.is_closing():
            return
        if cycle is not None and not cycle.response_complete:
            if not cycle.more_body:
                return  # the request is in; the app is answering (a stream may take as long as it likes)
            if cycle.response_started:  # answered early without waiting for the body: just stop
                self.transport.close()
                return
        self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()


class GracefulServer(uvicorn.Server):
    """uvicorn's server, telling the engine at the first signal and exiting at the second."""

    def __init__(self, config: uvicorn.Config, engine: Engine) -> None:
        super().__init__(config)
        self.engine = engine
        self._loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().startup(sockets)
        # Faker (fake words, names and replies) is made on first use, not at start: its import costs
        # ~0.2 s. Make it now, in the background, so the first create does not pay for it either.
        threading.Thread(target=warm_fake_data, args=(self.engine,), daemon=True).start()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:  # the second signal, of either kind: stop waiting for anything
            self.force_exit = True
        super().handle_exit(sig, frame)
        if self._loop is not None and not self._loop.is_closed():
            # a signal handler may interrupt the loop anywhere: hand the work to the loop itself
            self._loop.call_soon_threadsafe(self.engine.begin_shutdown)


def warm_fake_data(engine: Engine) -> None:
    """Make the Faker instances the renderers and the stream replies use (see ``startup``)."""
    streams.reply_faker()
    for renderer in engine.renderers.values():
        renderer.fake.warm()


class MaskedAccessLog(logging.Filter):
    """Masks credentials in the query strings uvicorn's access log prints."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            path, _, query = args[2].partition("?")
            record.args = (*args[:2], f"{path}?{self.masker.query_string(query)}", *args[3:])
        return True


def configure_logging(level: str, engine: Engine) -> None:
    """Show the mock's own log lines at ``level`` and mask credentials in the access log."""
    logger = logging.getLogger("comeback")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger("uvicorn.access").addFilter(MaskedAccessLog(engine.masker))


def run(app: Starlette, *, header_timeout: float, **options: Any) -> None:
    """Serve ``app`` in this process until a signal; ``options`` go to ``uvicorn.Config``."""
    engine: Engine = app.state.engine
    os.environ[HEADER_TIMEOUT_KEY] = str(header_timeout)
    config = uvicorn.Config(
        app, http=HeaderTimeoutProtocol, timeout_graceful_shutdown=GRACE_SECONDS, **options
    )
    config.load()  # sets up uvicorn's loggers, so the filter below lands on the configured one
    configure_logging(options.get("log_level", "info"), engine)
    settle_memory()
    GracefulServer(config, engine).run()


def run_workers(app: str, *, workers: int, host: str, port: int, **options: Any) -> None:
    """Serve the app factory ``app`` in ``workers`` processes until a signal, each accepting on its
    own socket (``ReusePortSocket``); ``options`` go to ``uvicorn.Config``."""
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    Multiprocess(config, sockets=[ReusePortSocket.bound(host, port)]).run()


class PortInUseError(ComebackError):
    """The address asked for is taken (or not this host's): nothing was started."""


class ReusePortSocket(socket.socket):
    """The supervisor's socket: bound with ``SO_REUSEPORT`` (so the port is taken, and port 0 gets
    its number) but never listening, so the kernel gives it no connections. A worker receives it
    pickled, and unpickling makes that worker's own listening socket on the same address: the
    kernel balances new connections over the listening members of the port's group."""

    @classmethod
    def bound(cls, host: str, port: int) -> ReusePortSocket:
        """The supervisor's socket on ``host:port``; ``PortInUseError`` if anything holds the port
        (another ``comeback serve --workers`` included, which ``SO_REUSEPORT`` alone would let in
        silently, splitting the connections between two mocks)."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if port != 0:  # port 0 is always a fresh one
            with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
                try:
                    probe.bind((host, port))
                except OSError as error:
                    raise PortInUseError(f"cannot listen on {host}:{port}: {error.strerror}") from None
        sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        _share_port(sock)
        sock.bind((host, port))
        return sock

    def __reduce__(self) -> tuple[Any, ...]:
        return (worker_socket, (int(self.family), self.getsockname()))


def worker_socket(family: int, address: tuple[Any, ...]) -> socket.socket:
    """A worker's own socket on the supervisor's address (uvicorn's worker listens on it)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    _share_port(sock)
    sock.bind(address)
    return sock


def _share_port(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)


GC_THRESHOLDS = (700, 10, 100)  # Python's defaults but a full collection 10x rarer (was 10)


def settle_memory() -> None:
    """Set the collector up for serving, once start-up is done (one process or each worker).

    The specs, scenarios and fake-data pools built at start live as long as the process: frozen out
    of the collector's sight, a full collection walks only what requests and streams made since,
    not hundreds of thousands of start-up objects. Thousands of open streams are themselves
    long-lived objects, and a full collection walks all of them (2,000 streams: 108 and 141 ms,
    lateness for every stream): full collections come 10x more rarely; the young generations,
    where request garbage dies, are collected as often as ever."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


__all__ = [
    "GracefulServer",
    "HeaderTimeoutProtocol",
    "PortInUseError",
    "ReusePortSocket",
    "configure_logging",
    "run",
    "run_workers",
    "settle_memory",
]

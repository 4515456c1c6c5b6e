"""Finding 3 (round 2): a callback's answer is read up to a cap and dropped, however large or
endless; callbacks never go through a proxy named in the environment."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from mockserver.callbacks import CALLBACK_ANSWER_BYTES
from tests.safety.conftest import app, in_thread
from tests.safety.test_callbacks import _run_with_callback


@dataclass
class Listener:
    """A loopback HTTP server that answers every request with an endless body, counting what it sent."""

    port: int
    requests: int = 0
    sent: int = 0
    closed: threading.Event = field(default_factory=threading.Event)


@contextmanager
def endless_answer() -> Iterator[Listener]:
    server = socket.create_server(("127.0.0.1", 0))
    listener = Listener(server.getsockname()[1])

    def serve() -> None:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            connection.recv(65536)
            listener.requests += 1
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")  # no length: endless
            chunk = b"x" * 65536
            try:
                while listener.sent < 2**31:  # 2 GiB, far beyond what a bounded reader takes
                    connection.sendall(chunk)
                    listener.sent += len(chunk)
            except OSError:
                listener.closed.set()

    with in_thread(serve, server.close):
        yield listener


def test_an_endless_callback_answer_is_read_up_to_the_cap_then_dropped() -> None:
    with endless_answer() as listener, TestClient(app()) as client:
        run = _run_with_callback(client, f"http://127.0.0.1:{listener.port}/done")
        assert listener.closed.wait(10), f"the mock kept reading: {listener.sent} bytes sent so far"
    assert run is not None
    assert run["callback_status_code"] == 200, run
    assert run["callback_error"] is None
    # what the server got into the socket before the mock closed it: the cap plus kernel buffers
    assert listener.sent < 64 * 1024 * 1024, f"{listener.sent} bytes sent; cap {CALLBACK_ANSWER_BYTES}"


@contextmanager
def counting_server() -> Iterator[Listener]:
    """A loopback server that answers 204 to anything and counts connections."""
    server = socket.create_server(("127.0.0.1", 0))
    listener = Listener(server.getsockname()[1])

    server.settimeout(0.1)  # so the loop sees the end of the test (closing does not wake accept)
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(5)
                listener.requests += 1
                try:
                    connection.recv(65536)
                    connection.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass

    with server, in_thread(serve, done.set):  # the thread stops before the socket closes
        yield listener


def test_callbacks_ignore_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with counting_server() as proxy, counting_server() as target:
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        with TestClient(app()) as client:
            run = _run_with_callback(client, f"http://127.0.0.1:{target.port}/done")
    assert run is not None
    assert run["callback_status_code"] == 204, run
    assert (proxy.requests, target.requests) == (0, 1)

"""Finding 3: SIGTERM ends open streams within 2 s and the process within 5 s (300 streams open);
a second signal exits at once."""

from __future__ import annotations

import signal
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.safety.conftest import closed_within, connect, serve

STREAMS = 300
AUTH = "Authorization: secret"


def _open_stream(port: int, message_id: str) -> socket.socket:
    sock = connect(port)
    request = (
        f"GET /v1/messages/async/{message_id}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def test_sigterm_ends_300_open_streams_and_exits(tmp_path: Path) -> None:
    with serve(tmp_path, "--api", "privategpt", "--log-level", "warning") as mock:
        body = {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        with httpx.Client(base_url=mock.url, headers={"Authorization": "secret"}) as client:
            for number in range(STREAMS):
                created = client.post(
                    f"/v1/messages/async?message_id=m{number}",
                    json=body,
                    headers={"X-Mock-Scenario": "never-finishes"},
                )
                assert created.status_code == 200, created.text
        with ExitStack() as stack:
            sockets = [stack.enter_context(_open_stream(mock.port, f"m{n}")) for n in range(STREAMS)]
            for sock in sockets:  # every stream is open: its response headers have arrived
                sock.settimeout(10)
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            began = time.monotonic()
            mock.process.send_signal(signal.SIGTERM)
            for sock in sockets:
                left = 2.0 - (time.monotonic() - began)
                assert closed_within(sock, left) is not None, "a stream stayed open"
            streams_ended = time.monotonic() - began
        mock.process.wait(timeout=5 - streams_ended)
        assert time.monotonic() - began < 5
        assert streams_ended < 2


def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    with serve(tmp_path, "--api", "privategpt", "--log-level", "warning") as mock:
        # a request whose body never finishes arriving keeps the graceful shutdown waiting
        stalled = connect(mock.port)
        with stalled:
            stalled.sendall(
                b"POST /v1/messages/async HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: secret\r\n"
                b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            )
            time.sleep(0.3)
            mock.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            assert mock.process.poll() is None  # still waiting for the stalled request
            began = time.monotonic()
            mock.process.send_signal(signal.SIGTERM)
            mock.process.wait(timeout=2)
            assert time.monotonic() - began < 1.0

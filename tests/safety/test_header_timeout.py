"""Finding 7: a connection whose request headers do not arrive in time is closed (with a 408)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.safety.conftest import closed_within, connect, serve


def test_stalled_headers_and_silent_connections_are_closed(tmp_path: Path) -> None:
    with serve(tmp_path, "--api", "privategpt", "--header-timeout", "0.5", "--log-level", "warning") as mock:
        silent = connect(mock.port)
        stalled = [connect(mock.port) for _ in range(20)]
        for sock in stalled:
            sock.sendall(b"GET /__mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        began = time.monotonic()
        for sock in [*stalled, silent]:
            with sock:
                answer = closed_within(sock, 5.0)
                assert answer is not None, "a stalled connection was still open after 5 s"
                assert answer in (
                    b"",
                    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
        assert time.monotonic() - began < 3.0
        # the next request on a kept-alive connection gets the same deadline once its first byte arrives
        with connect(mock.port) as kept:
            kept.sendall(b"GET /__mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            kept.settimeout(5)
            assert kept.recv(65536).startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /__mock/clock HTTP/1.1\r\nHo")
            assert closed_within(kept, 5.0) is not None
        # a client that sends its headers in time, however slowly, is served
        with connect(mock.port) as slow:
            for part in (b"GET /__mock/clock HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
                slow.sendall(part)
                time.sleep(0.1)
            slow.settimeout(5)
            assert slow.recv(65536).startswith(b"HTTP/1.1 200")
        assert httpx.get(mock.url + "/__mock/clock").status_code == 200


def test_a_long_stream_is_not_cut_by_the_header_timeout(tmp_path: Path) -> None:
    arguments = (
        "--api",
        "privategpt",
        "--header-timeout",
        "0.3",
        "--clock",
        "manual",
        "--log-level",
        "warning",
    )
    with serve(tmp_path, *arguments) as mock:
        body = {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": "secret", "X-Mock-Scenario": "never-finishes"}
        assert httpx.post(
            f"{mock.url}/v1/messages/async?message_id=s1", json=body, headers=headers
        ).is_success
        with connect(mock.port) as sock:
            sock.sendall(
                b"GET /v1/messages/async/s1/stream HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nAuthorization: secret\r\n\r\n"
            )
            sock.settimeout(5)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            assert closed_within(sock, 1.0) is None  # still open well past the header timeout

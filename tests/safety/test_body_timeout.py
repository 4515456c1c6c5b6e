"""Finding 6 (round 2): a request body sent slowly is cut after the timeout with a 408 and the
connection closed; a body that arrives in time is served."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.safety.conftest import closed_within, connect, serve

HEAD = (
    b"PUT /__mock/scenarios/privategpt/slow HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
)
TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def test_a_slow_body_is_cut_with_a_408_and_a_body_in_time_is_served(tmp_path: Path) -> None:
    with serve(tmp_path, "--api", "privategpt", "--header-timeout", "0.5", "--log-level", "warning") as mock:
        with connect(mock.port) as stalled, connect(mock.port) as dripping:
            stalled.sendall(HEAD + b'{"api": ')  # then nothing
            dripping.sendall(HEAD)
            began = time.monotonic()
            dripping.settimeout(0.1)
            answer: bytes | None = None
            while time.monotonic() - began < 5:  # one byte every 50 ms: always busy, never done in time
                try:
                    dripping.sendall(b" ")
                except OSError:
                    answer = b""
                    break
                try:
                    answer = dripping.recv(65536)
                    break
                except TimeoutError:
                    time.sleep(0.05)
            waited = time.monotonic() - began
            assert answer is not None, "a dripping body was still being read after 5 s"
            assert answer in (b"", TIMEOUT_ANSWER), answer
            assert closed_within(stalled, 5.0) in (b"", TIMEOUT_ANSWER), (
                "a stalled body was still open after 5 s"
            )
        assert waited < 4.0, f"the dripping body was cut after {waited:.1f} s (timeout 0.5 s)"
        # a body sent in parts, each within the time, is served
        with connect(mock.port) as slow:
            body = b'{"x": 1}'
            slow.sendall(
                b"POST /__mock/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
            )
            time.sleep(0.1)
            slow.sendall(body)
            slow.settimeout(5)
            assert slow.recv(65536).startswith(b"HTTP/1.1 ")
        assert httpx.get(mock.url + "/__mock/clock").status_code == 200

"""Helpers for the safety tests: a real ``comeback serve`` process on a free port, raw sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from comeback.testing import bundled_catalog
from mockserver.app import create_app
from mockserver.servers import free_port
from tests.mockserver.conftest import settings


@dataclass(frozen=True, slots=True)
class Process:
    """A running ``comeback serve``: its URL, port, process and the file its output goes to."""

    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serve(tmp_path: Path, *arguments: str) -> Iterator[Process]:
    """``comeback serve ARGUMENTS`` on a free port until the block ends (then killed if still alive)."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "comeback.cli", "serve", "--port", str(port), *arguments],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"comeback serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(url + "/__mock/clock", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("comeback serve did not answer within 30 s")
            time.sleep(0.02)
        yield Process(url, port, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing ``sock`` within ``seconds``; None if still open then."""
    sock.settimeout(0.1)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    return None


def app(**changes: Any) -> Starlette:
    """A mock on a manual clock in strict mode (``tests.mockserver.conftest.settings``), built
    from the bundled catalog loaded once per process."""
    return create_app(settings(**changes), catalog=bundled_catalog())


@contextmanager
def in_thread(target: Callable[[], None], stop: Callable[[], None]) -> Iterator[None]:
    """Run ``target`` in a daemon thread while the block runs; then ``stop()`` and join it."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop()
        thread.join(timeout=60)

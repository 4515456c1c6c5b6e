"""A real Redis (or Valkey) server on a free loopback port, for the store tests and the bench.

``tools/install-redis.sh`` installs Debian's ``redis-server`` when none is on PATH. Each server runs
in its own temporary folder with persistence off (``--save '' --appendonly no``), bound to
127.0.0.1, and can be stopped and started again on the same port (the store-restart tests)::

    with RedisServer() as redis:
        print(redis.url)  # redis://127.0.0.1:PORT/0
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

START_SECONDS = 10.0  # a server that does not answer PING by then has failed to start


def redis_binary() -> str | None:
    """The server to run: ``redis-server`` on PATH, else ``valkey-server`` (None: neither)."""
    return shutil.which("redis-server") or shutil.which("valkey-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ping(port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server on 127.0.0.1:``port`` answers PING (an inline command: no client)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process; ``start``/``stop`` may be called again (same port, empty data)."""

    def __init__(self, port: int | None = None, binary: str | None = None) -> None:
        found = binary or redis_binary()
        if found is None:
            raise FileNotFoundError("no redis-server or valkey-server on PATH: run tools/install-redis.sh")
        self.binary = found
        self.port = port or _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="comeback-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def flush(self) -> None:
        """Empty every database (FLUSHALL, as an inline command: no client needed)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(b"FLUSHALL\r\n")
            if not sock.recv(16).startswith(b"+OK"):
                raise RuntimeError(f"FLUSHALL refused by the server on port {self.port}")

    def start(self) -> None:
        """Start the server and wait (bounded) until it answers PING."""
        if self._process is not None:
            return
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        with (self.folder / "server.log").open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + START_SECONDS
        while not ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log_text = (self.folder / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.binary} did not answer PING on port {self.port}:\n{log_text}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s); its data is gone."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen server must run to obey SIGTERM
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def freeze(self, frozen: bool = True) -> None:
        """Stop (SIGSTOP) or resume (SIGCONT) the process: a store that stalls without closing."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP if frozen else signal.SIGCONT)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

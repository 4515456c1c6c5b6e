"""Server processes for the bench: start one, wait for its first 200, read its memory, stop it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from mockserver.servers import free_port


@dataclass(frozen=True, slots=True)
class Running:
    url: str
    pid: int
    started_in: float  # seconds from process start to the first 200


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def server(
    command: Sequence[str], probe: str, env: Mapping[str, str] | None = None, port: int | None = None
) -> Iterator[Running]:
    """Run ``command`` (``{port}`` is filled in) until the block ends; wait until ``probe`` answers 200."""
    port = port or free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    began = time.perf_counter()
    process = subprocess.Popen(
        argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited with {process.returncode}")
            try:
                if httpx.get(url + probe, timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - began > 30:
                raise RuntimeError(f"{' '.join(argv)} did not answer within 30 s")
            time.sleep(0.005)
        yield Running(url, process.pid, time.perf_counter() - began)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def python_command(*arguments: str) -> list[str]:
    return [sys.executable, *arguments]

"""Server processes for the bench: start one pinned to its core, wait for its first answer, read its
memory and CPU time, stop it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from mockserver.servers import free_port

SERVER_CORE = "0"  # servers run here ...
LOAD_CORE = "1"  # ... and load generators and stream clients here, so they never share a core


@dataclass(frozen=True, slots=True)
class Running:
    url: str
    pid: int
    started_in: float  # seconds from process start to the probe's first 200


def can_pin() -> bool:
    """Pinning needs taskset and at least two cores."""
    return shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2


def pinned(command: Sequence[str], core: str) -> list[str]:
    """``command`` run on ``core`` only (unchanged where pinning is not possible)."""
    return ["taskset", "-c", core, *command] if can_pin() else list(command)


def pin_this_process(core: str) -> None:
    """Move the calling process onto ``core`` (a stream client process pins itself this way)."""
    if can_pin():
        os.sched_setaffinity(0, {int(core)})


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), in seconds."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server(
    command: Sequence[str],
    probe: str,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    core: str | None = SERVER_CORE,
    cwd: Path | None = None,
) -> Iterator[Running]:
    """Run ``command`` (``{port}`` is filled in) until the block ends; wait until ``probe`` answers 200."""
    port = port or free_port()
    argv = [part.replace("{port}", str(port)) for part in command]
    if core is not None:
        argv = pinned(argv, core)
    began = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{' '.join(argv)} exited with {process.returncode}")
            try:
                if httpx.get(url + probe, headers=dict(headers or {}), timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - began > timeout:
                raise RuntimeError(f"{' '.join(argv)} did not answer within {timeout:.0f} s")
            time.sleep(0.005)
        yield Running(url, process.pid, time.perf_counter() - began)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def python_command(*arguments: str) -> list[str]:
    return [sys.executable, *arguments]

"""Who had the cores while paced words were due: the answer a lateness tail needs.

On a shared machine a worker can be ready to send and still wait for a core. Linux keeps, per
process, the time it ran and the time it waited runnable on a run queue (``/proc/PID/schedstat``),
and for the machine, how busy each core was (``/proc/stat``). Sampled through the delivery
window, these say whether a late word was the mock's doing (its loop busy or blocked: little run-
queue wait) or the scheduler's (the worker runnable but other processes on the cores). Which
worker accepted which stream comes from the kernel's socket table (``ss``), so lateness can be
split per worker (uvicorn's workers share one listening socket; the kernel does not balance it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.load import percentile


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall time
    waits: Mapping[int, float]  # worker pid -> seconds spent runnable but waiting for a core so far
    machine_busy: float  # core-seconds the whole machine was busy so far (every process)
    machine_total: float  # core-seconds elapsed so far (busy or idle)


def run_queue_wait(pid: int | str) -> float:
    """Seconds ``pid`` has spent runnable but not running (``/proc/PID/schedstat``, second field)."""
    with open(f"/proc/{pid}/schedstat", encoding="ascii") as stat:
        return int(stat.read().split()[1]) / 1e9


def machine_cores() -> tuple[float, float]:
    """(busy, total) core-seconds of the whole machine so far, from ``/proc/stat``'s ``cpu`` line."""
    with open("/proc/stat", encoding="ascii") as stat:
        ticks = [int(value) for value in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    total = sum(ticks[:8])  # guest time is already counted in user
    per_second = 100.0  # USER_HZ: /proc/stat counts in 1/100 s on Linux
    return (total - idle) / per_second, total / per_second


def take(workers: Sequence[int]) -> Sample:
    """One sample of the workers' run-queue waits and the machine's busy time (a worker gone
    meanwhile is left out)."""
    waits = {}
    for pid in workers:
        try:
            waits[pid] = run_queue_wait(pid)
        except OSError:
            continue
    busy, total = machine_cores()
    return Sample(time.time(), waits, busy, total)


def _inside(samples: Sequence[Sample], window: tuple[float, float] | None) -> list[Sample]:
    return [sample for sample in samples if window is not None and window[0] <= sample.at <= window[1]]


def wait_shares(samples: Sequence[Sample], window: tuple[float, float] | None) -> dict[int, float]:
    """Per worker pid: the share of ``window``'s wall time it spent runnable but waiting for a core."""
    inside = _inside(samples, window)
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    wall = last.at - first.at
    return {
        pid: round((last.waits[pid] - first.waits[pid]) / wall, 2) for pid in last.waits if pid in first.waits
    }


def contention(samples: Sequence[Sample], window: tuple[float, float] | None) -> dict[str, float]:
    """Over the samples inside ``window``: the machine's cores busy (all processes), and the largest
    share of wall time any worker spent runnable but waiting for a core."""
    inside = _inside(samples, window)
    if len(inside) < 2:
        return {}
    first, last = inside[0], inside[-1]
    figures = {
        "machine_cores_busy": round((last.machine_busy - first.machine_busy) / (last.at - first.at), 2)
    }
    if shares := wait_shares(samples, window):
        figures["worker_wait_share"] = max(shares.values())
    return figures


_SOCKET = re.compile(r":(\d+)\s+users:\(\(.*?pid=(\d+)")


def accepted_by(port: int) -> dict[int, int]:
    """Client port -> pid of the process holding the accepted socket, for connections to ``port``
    (empty where ``ss`` is missing)."""
    if shutil.which("ss") is None:
        return {}
    command = ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"]
    text = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30).stdout
    return parse_sockets(text)


def wait_listening(port: int, workers: int, timeout: float = 30.0) -> int:
    """Wait (bounded) until ``workers`` sockets listen on ``port``: each worker listens on its own
    socket once started, and connections made before the last one listens all go to the others.
    Returns how many listen (0 where ``ss`` is missing)."""
    if shutil.which("ss") is None:
        return 0
    deadline = time.monotonic() + timeout
    while True:
        command = ["ss", "-ltnH", f"( sport = :{port} )"]
        listed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30).stdout
        count = len(listed.splitlines())
        if count >= workers or time.monotonic() > deadline:
            return count
        time.sleep(0.1)


def parse_sockets(text: str) -> dict[int, int]:
    """``ss -tnpH state established`` lines -> {peer port: pid}."""
    found = {}
    for line in text.splitlines():
        if (match := _SOCKET.search(line)) is not None:
            found[int(match.group(1))] = int(match.group(2))
    return found


def per_worker(
    streams: Sequence[tuple[int, list[float]]],
    owners: Mapping[int, int],
    waits: Mapping[int, float] | None = None,
) -> list[dict[str, float]]:
    """(client port, lateness of its words) per stream -> per worker: connections, p99 lateness and
    (given ``waits``) its run-queue wait share, most connections first; streams whose worker is
    unknown are left out."""
    late: dict[int, list[float]] = {}
    connections: dict[int, int] = {}
    for port, lateness in streams:
        pid = owners.get(port)
        if pid is None:
            continue
        connections[pid] = connections.get(pid, 0) + 1
        late.setdefault(pid, []).extend(lateness)
    rows = []
    for pid in sorted(connections, key=lambda pid: -connections[pid]):
        values = sorted(late[pid])
        p99 = round(percentile(values, 0.99) * 1000, 1) if values else 0.0
        row = {"connections": connections[pid], "lateness_p99_ms": p99}
        if waits is not None and pid in waits:
            row["wait_share"] = waits[pid]
        rows.append(row)
    return rows

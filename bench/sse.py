"""Many concurrent paced SSE streams against one mock, measured in steady state.

Each run gets its own scenario (``stream_scenario``): the resource stays pending for a lead time
long enough for every stream of the run to be created and opened, then its reply is due word by
word at a fixed pace: word ``i`` at ``created_at + lead + (i + 1) / rate`` (the mock's real clock
is this host's wall clock). A word's lateness is its arrival time minus that. So set-up traffic never overlaps
delivery (the run reports whether it did), and what is measured is the mock keeping time alone.

The client runs in its own processes, pinned to the load core; it reads in chunks and counts frames
per chunk, because parsing line by line in Python would make the client the bottleneck.
"""

from __future__ import annotations

import asyncio
import json
import re
import resource as rusage
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.contention import run_queue_wait
from bench.load import percentile
from bench.procs import LOAD_CORE, pin_this_process

WORDS = 40
SET_UP_AT_ONCE = 200  # creates and stream opens in flight at once, per client process


def lead_seconds(count: int) -> float:
    """Pending time before the first word: enough to create and open ``count`` streams (each a
    create, a status read and a stream request) at 250 per second, which a quiet 2-core machine
    beats with room to spare; the report shows the margin that was left."""
    return max(5.0, count / 250)


def stream_scenario(name: str, lead: float, rate: float, *, default: bool = False) -> str:
    """A PrivateGPT scenario: pending for ``lead`` s, then ``WORDS`` words at ``rate`` per second."""
    words = " ".join(f"w{index}" for index in range(1, WORDS + 1))
    lines = [
        f"# Bench: pending {lead:g} s, then {WORDS} words at {rate:g} per second, then completed.",
        "api: privategpt",
        f'description: "Bench: pending {lead:g} s, then {WORDS} words at {rate:g}/s."',
        *(["default: true"] if default else []),
        "steps:",
        "  - state: pending",
        "  - state: processing",
        f"    after: {lead:g}s",
        "    stream:",
        f"      text: {words}",
        f"      tokens_per_second: {rate:g}",
        "  - state: completed",
        f"    after: {WORDS / rate + 1:g}s",
    ]
    return "\n".join(lines) + "\n"


def write_scenarios(folder: Path, runs: dict[str, tuple[float, float]]) -> Path:
    """One scenario file per run name -> (lead, rate), under ``folder/privategpt``."""
    target = folder / "privategpt"
    target.mkdir(parents=True, exist_ok=True)
    for position, (name, (lead, rate)) in enumerate(sorted(runs.items())):
        text = stream_scenario(name, lead, rate, default=position == 0)
        (target / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


@dataclass
class StreamResult:
    lateness: list[float] = field(default_factory=list)
    events: int = 0
    ended_well: bool = False
    began_at: float = 0.0  # wall time its set-up began (create, status, stream request)
    opened_at: float = 0.0  # wall time the stream's request was sent
    first_due: float = 0.0  # wall time its first word was due
    last_event_at: float = 0.0
    failure: str = ""  # why its set-up failed (an answer other than 200, a dropped connection)
    port: int = 0  # the client's local port: which server process accepted it (``ss -tnp``)


@dataclass
class ClientReport:
    """One client process's streams and what the process itself spent."""

    streams: list[StreamResult]
    cpu_seconds: float  # the client's CPU time while its streams were delivering
    wait_seconds: float = 0.0  # ... and its time runnable but waiting for a core (Linux), meanwhile
    wall_seconds: float = 0.0  # ... and the wall time that took


@dataclass(frozen=True, slots=True)
class StreamRun:
    """What one client (process) does: ``count`` streams of the scenario with this lead and rate."""

    url: str
    count: int
    headers: dict[str, str]
    lead: float
    rate: float


@dataclass(frozen=True, slots=True)
class _Client:
    run: StreamRun
    host: str
    port: int
    gate: asyncio.Semaphore
    on_open: Callable[[], None]


_BODY = json.dumps({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "bench"}]})


async def _one(shared: _Client) -> StreamResult:
    """Create a message, read its status (for ``created_at``), open its stream, all on one connection
    (a bare HTTP/1.1 client: httpx would cost the client more CPU than the mock spends)."""
    run = shared.run
    result = StreamResult()
    async with shared.gate:  # limit how many are being set up at once; once open, they all stay open
        result.began_at = time.time()
        try:
            reader, writer = await asyncio.open_connection(shared.host, shared.port)
            result.port = writer.get_extra_info("sockname")[1]
            head = [f"Host: {shared.host}:{shared.port}", *(f"{k}: {v}" for k, v in run.headers.items())]
            created = await _exchange(reader, writer, "POST /v1/messages/async", head, _BODY)
            message = json.loads(created)["message_id"]
            status = json.loads(
                await _exchange(reader, writer, f"GET /v1/messages/async/{message}/status", head)
            )
            created_at = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00")).timestamp()
            request = [f"GET /v1/messages/async/{message}/stream HTTP/1.1", *head]
            writer.write(("\r\n".join(request) + "\r\n\r\n").encode())
            await writer.drain()
        except (OSError, RuntimeError, ValueError, KeyError, asyncio.IncompleteReadError) as error:
            result.failure = str(error)[:300] or type(error).__name__  # counted, and the run goes on
            shared.on_open()
            return result
        result.opened_at = time.time()
        shared.on_open()
    # the mock's real clock at --speed 1 is this host's wall clock: due times need no mapping
    due = [created_at + run.lead + (index + 1) / run.rate for index in range(WORDS)]
    result.first_due = due[0]
    word = 0
    buffer = b""
    try:
        while chunk := await reader.read(65536):
            arrived = time.time()
            buffer += chunk
            frames = buffer.split(b"\n\n")
            buffer = frames.pop()
            for frame in frames:
                if b"event: " not in frame:
                    continue
                result.events += 1
                result.last_event_at = arrived
                if b"event: content_block_delta" in frame and word < WORDS:
                    result.lateness.append(arrived - due[word])
                    word += 1
                elif b"event: message_stop" in frame:
                    result.ended_well = word == WORDS
                    return result
    finally:
        writer.close()
    return result


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: str, head: list[str], body: str = ""
) -> bytes:
    """One request on a kept-alive connection; its body (the mock always sends Content-Length)."""
    lines = [f"{line} HTTP/1.1", *head]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body.encode())}"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n" + body).encode())
    answer = await reader.readuntil(b"\r\n\r\n")
    if not answer.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{line}: {answer.splitlines()[0].decode()}")
    length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", answer)
    if length is None:
        raise RuntimeError(f"{line}: no Content-Length")
    return await reader.readexactly(int(length.group(1)))


async def run_streams(run: StreamRun) -> ClientReport:
    parts = urlsplit(run.url)
    gate = asyncio.Semaphore(SET_UP_AT_ONCE)
    opened = asyncio.Event()
    still_opening = [run.count]

    def on_open() -> None:
        still_opening[0] -= 1
        if still_opening[0] == 0:
            opened.set()

    shared = _Client(run, parts.hostname or "127.0.0.1", parts.port or 80, gate, on_open)
    streams = asyncio.gather(*(_one(shared) for _ in range(run.count)))
    # the client's own CPU from when its streams are all open until they end: was it the bottleneck?
    waiting: asyncio.Future[Any] = asyncio.ensure_future(opened.wait())
    await asyncio.wait([waiting, streams], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    cpu_before, wait_before, wall_before = _cpu(), _waited(), time.time()
    results = list(await streams)
    return ClientReport(results, _cpu() - cpu_before, _waited() - wait_before, time.time() - wall_before)


def _cpu() -> float:
    usage = rusage.getrusage(rusage.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _waited() -> float:
    try:
        return run_queue_wait("self")
    except OSError:  # not Linux: no run-queue figures
        return 0.0


def run_streams_in_processes(run: StreamRun, processes: int = 2) -> list[ClientReport]:
    """``run`` split over client processes pinned to the load core."""
    shares = [run.count // processes + (index < run.count % processes) for index in range(processes)]
    runs = [replace(run, count=share) for share in shares if share]
    with ProcessPoolExecutor(len(runs), initializer=pin_this_process, initargs=(LOAD_CORE,)) as pool:
        return list(pool.map(_streams_in_process, runs))


def _streams_in_process(run: StreamRun) -> ClientReport:
    return asyncio.run(run_streams(run))


def summarize(reports: list[ClientReport]) -> dict[str, Any]:
    """The figures of one run: lateness, events/s over the delivery window, set-up margin."""
    results = [stream for report in reports for stream in report.streams]
    failures = [result.failure for result in results if result.failure]
    failed = {"failed": len(failures), "failure": failures[0]} if failures else {}
    results = [result for result in results if not result.failure]
    lateness = sorted(value for result in results for value in result.lateness)
    if not lateness:
        return {"streams": len(results) + len(failures), "events": 0, **failed}
    events = sum(r.events for r in results)
    first_due = min(r.first_due for r in results)
    all_open = max(r.opened_at for r in results)
    window = max(r.last_event_at for r in results) - first_due
    return {
        "streams": len(results) + len(failures),
        **failed,
        "events": events,
        "events_per_second": round(events / window, 1) if window > 0 else None,
        "lateness_p50_ms": round(percentile(lateness, 0.5) * 1000, 2),
        "lateness_p99_ms": round(percentile(lateness, 0.99) * 1000, 2),
        "lateness_max_ms": round(lateness[-1] * 1000, 2),
        "lateness_mean_ms": round(statistics.fmean(lateness) * 1000, 2),
        "ended_early": sum(not r.ended_well for r in results),
        # > 0: every stream was open before the first word of any was due (steady state)
        "open_margin_s": round(first_due - all_open, 2),
        "set_up_s": round(all_open - min(r.began_at for r in results), 2),
        "delivery_window": (first_due, first_due + window),
        "client_cpu_s": round(sum(report.cpu_seconds for report in reports), 2),
        # the largest share of its delivery time a client process waited for a core (its own lateness)
        "client_wait_share": round(
            max(r.wait_seconds / r.wall_seconds if r.wall_seconds else 0.0 for r in reports), 2
        ),
    }

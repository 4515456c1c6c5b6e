"""Many concurrent SSE streams against one mock: how late each event is against the scenario's schedule.

The bench scenario (``bench/scenarios/privategpt/steady.yaml``) says exactly when each word is due:
``created_at + 8 s + (i + 1) / 4`` in mock time, mapped to wall time (the mock may run faster). A
word's lateness is its arrival time minus that. Streams are
opened right after their resource is created, long before the first word is due.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.load import percentile

PROCESSING_AFTER = 8.0
RATE = 4.0
WORDS = 40


@dataclass
class StreamResult:
    lateness: list[float] = field(default_factory=list)
    events: int = 0
    ended_well: bool = False


async def _one(
    address: tuple[str, int],
    client: httpx.AsyncClient,
    headers: dict[str, str],
    gate: asyncio.Semaphore,
    to_wall: Callable[[float], float],
) -> StreamResult:
    result = StreamResult()
    async with gate:  # limit how many are being set up at once; once open, they all stay open
        body = {"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "bench"}]}
        message = (await _retry(client, "POST", "/v1/messages/async", json=body, headers=headers)).json()[
            "message_id"
        ]
        status = (await _retry(client, "GET", f"/v1/messages/async/{message}/status", headers=headers)).json()
        created = datetime.fromisoformat(status["created_at"].replace("Z", "+00:00")).timestamp()
        host, port = address
        reader, writer = await asyncio.open_connection(host, port)
        lines = [f"GET /v1/messages/async/{message}/stream HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
    word = 0
    buffer = b""
    try:
        # read in chunks and count frames per chunk: parsing line by line in Python would make the
        # client, not the mock, the bottleneck with thousands of streams on the same two cores
        while chunk := await reader.read(65536):
            arrived = time.time()
            buffer += chunk
            frames = buffer.split(b"\n\n")
            buffer = frames.pop()
            for frame in frames:
                if b"event: " not in frame:
                    continue
                result.events += 1
                if b"event: content_block_delta" in frame:
                    result.lateness.append(arrived - to_wall(created + PROCESSING_AFTER + (word + 1) / RATE))
                    word += 1
                elif b"event: message_stop" in frame:
                    result.ended_well = word == WORDS
                    return result
    finally:
        writer.close()
    return result


async def _retry(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One retry on a transport error (a pooled connection the server closed as it was reused)."""
    try:
        return await client.request(method, path, **kwargs)
    except httpx.TransportError:
        return await client.request(method, path, **kwargs)


def run_streams_in_processes(
    url: str, count: int, headers: dict[str, str], speed: float = 1.0, processes: int = 2
) -> list[StreamResult]:
    """``run_streams`` split over several client processes, so the client is not the bottleneck."""
    shares = [count // processes + (1 if index < count % processes else 0) for index in range(processes)]
    with ProcessPoolExecutor(processes) as pool:
        parts = pool.map(_streams_in_process, [(url, share, headers, speed) for share in shares if share])
        return [result for part in parts for result in part]


def _streams_in_process(arguments: tuple[str, int, dict[str, str], float]) -> list[StreamResult]:
    url, count, headers, speed = arguments
    return asyncio.run(run_streams(url, count, headers, speed))


async def run_streams(
    url: str, count: int, headers: dict[str, str], speed: float = 1.0
) -> list[StreamResult]:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        before = time.time()
        mock_now = float((await client.get("/__mock/clock")).json()["epoch"])
        wall_now = (before + time.time()) / 2
        offset = mock_now - speed * wall_now  # mock time = offset + speed * wall time

        def to_wall(mock_time: float) -> float:
            return (mock_time - offset) / speed

        gate = asyncio.Semaphore(200)
        return list(
            await asyncio.gather(*(_one(address, client, headers, gate, to_wall) for _ in range(count)))
        )


def summarize(results: list[StreamResult], seconds: float) -> dict[str, float | int]:
    lateness = sorted(value for result in results for value in result.lateness)
    if not lateness:
        return {"streams": len(results), "events": 0}
    return {
        "streams": len(results),
        "events": sum(r.events for r in results),
        "events_per_second": round(sum(r.events for r in results) / seconds, 1),
        "lateness_p50_ms": round(percentile(lateness, 0.5) * 1000, 2),
        "lateness_p99_ms": round(percentile(lateness, 0.99) * 1000, 2),
        "lateness_max_ms": round(lateness[-1] * 1000, 2),
        "lateness_mean_ms": round(statistics.fmean(lateness) * 1000, 2),
        "ended_early": sum(not r.ended_well for r in results),
    }

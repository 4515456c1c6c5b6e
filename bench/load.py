"""Request/response load: wrk when it is installed (the real numbers), pinned to the load core, else a
small Python loop (only good enough for the smoke test, and marked as such in the results)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from bench.procs import LOAD_CORE, pinned


@dataclass(frozen=True, slots=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers other than 2xx/3xx, and socket errors
    tool: str
    requests: int = 0


def measure_call(
    url: str,
    call: dict[str, Any],
    headers: dict[str, str],
    *,
    seconds: float,
    connections: int,
    cpu: Callable[[], dict[str, float]],
) -> dict[str, Any]:
    """One load run of ``call`` against ``url``; for each CPU counter ``cpu()`` reads (seconds of a
    process or several), its CPU per request as ``NAME_us``."""
    before = cpu()
    load = run_load(
        url + call["path"], call["method"], headers, call["body"], seconds=seconds, connections=connections
    )
    used = {name: value - before[name] for name, value in cpu().items()}
    return {
        "rps": round(load.requests_per_second, 1),
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "errors": load.errors,
        **{
            f"{name}_us": round(value / load.requests * 1e6, 1) if load.requests else None
            for name, value in used.items()
        },
        "tool": load.tool,
        "requests": load.requests,
    }


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def run_load(
    url: str, method: str, headers: dict[str, str], body: Any, *, seconds: float, connections: int
) -> Load:
    if wrk_available():
        return _wrk(url, method, headers, body, seconds=seconds, connections=connections)
    return asyncio.run(_python(url, method, headers, body, seconds=seconds, connections=min(connections, 8)))


def _wrk(
    url: str, method: str, headers: dict[str, str], body: Any, *, seconds: float, connections: int
) -> Load:
    script = [f'wrk.method = "{method}"']
    for name, value in headers.items():
        script.append(f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}")
    if body is not None:
        script.append('wrk.headers["Content-Type"] = "application/json"')
        script.append(f"wrk.body = {json.dumps(json.dumps(body))}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write("\n".join(script) + "\n")
    command = [
        *pinned(["wrk"], LOAD_CORE),
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        handle.name,
        url,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> Load:
    """The figures of one ``wrk --latency`` run."""
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Load(
        requests_per_second=float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),  # type: ignore[union-attr]
        p50_ms=_ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        p99_ms=_ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),  # type: ignore[union-attr]
        errors=sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
        + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0),
        tool="wrk",
        requests=int(re.search(r"(\d+) requests in", output).group(1)),  # type: ignore[union-attr]
    )


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def _python(
    url: str, method: str, headers: dict[str, str], body: Any, *, seconds: float, connections: int
) -> Load:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            response = await client.request(method, url, headers=headers, json=body)
            latencies.append(time.perf_counter() - began)
            errors += response.status_code >= 400

    async with httpx.AsyncClient(timeout=10) as client:
        await asyncio.gather(*(worker(client) for _ in range(connections)))
    latencies.sort()
    p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
    tool = "python (no wrk: not comparable)"
    return Load(len(latencies) / seconds, p50, p99, errors, tool, len(latencies))


def percentile(ordered: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of the sorted ``ordered`` values fall (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

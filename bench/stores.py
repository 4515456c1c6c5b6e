"""The shared store's scale (``python -m bench.run --parts stores``): the mock on the memory store
and on a Redis store with 1 and 2 worker processes, beside the bare Starlette floor at the same
worker count; then paced streams over 2 workers on Redis.

One worker (and the floor's one) is pinned to the server core as elsewhere in the bench; two
workers need both cores, so they, the Redis server and the 2-worker floor run unpinned while wrk
stays on the load core (on a 2-core machine they share it with the load: the figures say what
one machine gives, not what two cores give each). The memory store at 2 workers is measured on
creates only: each of its workers has its own resources, so a status read of one id is a 404 on
the other half of the requests. CPU per request counts every process of the server (the
master and its workers) and, separately, the Redis server. The Redis server is started by the
bench itself (``tools/redis_server.py``) on a free loopback port, emptied between setups.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.contenders import comeback_serve
from bench.load import measure_call
from bench.procs import SERVER_CORE, Running, cpu_seconds, python_command, rss_mib, server
from bench.sse import StreamRun, lead_seconds, run_streams_in_processes, summarize, write_scenarios
from tools.redis_server import RedisServer

SETUPS = (("memory", 1), ("redis", 1), ("memory", 2), ("redis", 2))
STREAM_WORKERS = 2
GET_TARGET = 1.7  # status GET: Redis at 2 workers / memory at 1 worker
STREAM_LIMITS = {5000: 20.0, 10000: 50.0}  # p99 lateness ms over 2 workers
RSS_LIMIT_MB = 300.0  # per worker


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's workers are children of the master)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def tree_cpu(pid: int) -> float:
    total = 0.0
    for member in tree(pid):
        try:
            total += cpu_seconds(member)
        except OSError:  # gone meanwhile
            continue
    return total


def _serve(store: str, workers: int, *extra: str) -> list[str]:
    options = ["--api", "privategpt", "--store", store, "--workers", str(workers), "--log-level", "warning"]
    return comeback_serve(*options, "--no-watch", *extra)


def _floor(workers: int) -> list[str]:
    command = python_command("-m", "uvicorn", "bench.floor:create_floor", "--factory", "--port", "{port}")
    return [*command, "--workers", str(workers), "--no-access-log", "--log-level", "warning"]


def _measure(
    target: Running, redis_pid: int | None, call: dict[str, Any], seconds: float, connections: int
) -> dict[str, Any]:
    def cpu() -> dict[str, float]:
        counters = {"cpu": tree_cpu(target.pid)}
        if redis_pid is not None:
            counters["redis_cpu"] = cpu_seconds(redis_pid)
        return counters

    figures = measure_call(
        target.url, call, {"Authorization": "bench-token"}, seconds=seconds, connections=connections, cpu=cpu
    )
    return {"redis_cpu_us": None, **figures}


def stores(
    calls: list[dict[str, Any]],
    prepare: Callable[[Running], Any],
    floor_env: Callable[[Running], dict[str, str]],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    stream_counts: tuple[int, ...],
    rate: float,
) -> dict[str, Any]:
    """Every setup measured ``rounds`` times per call (median); ``prepare`` makes bench-1 completed
    on a mock, ``floor_env`` gives the floor its bodies (recorded from the first mock)."""
    rows: list[dict[str, Any]] = []
    with RedisServer() as redis:
        pid = redis.pid
        env: dict[str, str] | None = None
        for store_kind, workers in SETUPS:
            store = redis.url if store_kind == "redis" else "memory"
            redis.flush()
            core = SERVER_CORE if workers == 1 else None
            with server(_serve(store, workers), "/__mock/clock", core=core, timeout=90) as mock:
                env = env or floor_env(mock)
                figures = {}
                for call in calls:
                    if call["method"] == "GET" and store_kind == "memory" and workers > 1:
                        continue  # each worker has its own resources: see the module docstring
                    measured = []
                    for _ in range(rounds):
                        if call["method"] == "GET":
                            prepare(mock)
                        measured.append(
                            _measure(mock, pid if store_kind == "redis" else None, call, seconds, connections)
                        )
                    figures[call["name"]] = _median(measured)
                rows.append({"server": f"comeback, {store_kind} store", "workers": workers, **figures})
        for workers in (1, 2):
            core = SERVER_CORE if workers == 1 else None
            probe = calls[0]["path"]
            with server(_floor(workers), probe, env=env, core=core, timeout=90) as floor:
                figures = {
                    call["name"]: _median(
                        [_measure(floor, None, call, seconds, connections) for _ in range(rounds)]
                    )
                    for call in calls
                }
                rows.append({"server": "floor: bare Starlette", "workers": workers, **figures})
        streams = [_streams(redis, count, rate) for count in stream_counts]
    return {
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
        "rows": rows,
        "streams": streams,
    }


def _median(measured: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in ("rps", "p99_ms", "cpu_us", "redis_cpu_us"):
        values = [m[key] for m in measured if m[key] is not None]
        figures[key] = round(statistics.median(values), 2) if values else None
    return {**figures, "errors": sum(m["errors"] for m in measured), "tool": measured[0]["tool"]}


def _streams(redis: RedisServer, count: int, rate: float) -> dict[str, Any]:
    """``count`` paced streams over ``STREAM_WORKERS`` workers on Redis: lateness, RSS per worker."""
    import tempfile  # noqa: PLC0415

    redis.flush()
    with tempfile.TemporaryDirectory(prefix="comeback-stores-") as work:
        lead = lead_seconds(count)
        folder = write_scenarios(Path(work), {f"bench-{count}": (lead, rate)})
        extra = ("--scenarios", str(folder), "--max-resources", str(2 * count + 100))
        command = _serve(redis.url, STREAM_WORKERS, *extra)
        with server(command, "/__mock/clock", core=None, timeout=90) as mock:
            peaks: dict[int, float] = {}
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.25):
                    for member in tree(mock.pid)[1:]:  # the workers, not the master
                        try:
                            peaks[member] = max(peaks.get(member, 0.0), rss_mib(member))
                        except OSError:
                            continue

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            headers = {"Authorization": "bench-token", "X-Mock-Scenario": f"bench-{count}"}
            began = time.perf_counter()
            reports = run_streams_in_processes(StreamRun(mock.url, count, headers, lead, rate))
            done.set()
            sampler.join()
            summary = summarize(reports)
            summary.pop("delivery_window", None)
            return {
                **summary,
                "workers": STREAM_WORKERS,
                "words_per_second_each": rate,
                "seconds": round(time.perf_counter() - began, 1),
                "rss_peak_mib_per_worker": round(max(peaks.values(), default=0.0), 1),
            }


def verdicts(part: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, target, met) for issue 21's targets."""
    rows: list[tuple[str, str, str, bool | None]] = []
    by = {(row["server"], row["workers"]): row for row in part.get("rows", [])}
    base = by.get(("comeback, memory store", 1), {}).get("status GET")
    shared = by.get(("comeback, redis store", 2), {}).get("status GET")
    if base and shared and base["rps"]:
        ratio = shared["rps"] / base["rps"]
        what = "status GET: Redis store at 2 workers / memory store at 1"
        rows.append((what, f"{ratio:.2f}x", f">= {GET_TARGET:g}x", ratio >= GET_TARGET))
    for row in part.get("streams", []):
        limit = STREAM_LIMITS.get(row["streams"])
        if limit is not None and "lateness_p99_ms" in row:
            late = row["lateness_p99_ms"]
            what = f"{row['streams']} streams over 2 workers (Redis): p99 lateness"
            rows.append((what, f"{late:.1f} ms", f"<= {limit:g} ms", late <= limit))
        if row["streams"] in STREAM_LIMITS:
            rss = row["rss_peak_mib_per_worker"] * 1.048576
            what = f"{row['streams']} streams over 2 workers: peak RSS per worker"
            rows.append((what, f"{rss:.0f} MB", f"<= {RSS_LIMIT_MB:g} MB", rss <= RSS_LIMIT_MB))
    return rows


def markdown(part: dict[str, Any]) -> list[str]:
    def cell(figures: dict[str, Any] | None, key: str, digits: int = 0) -> str:
        value = None if figures is None else figures.get(key)
        return "-" if value is None else f"{value:,.{digits}f}"

    lines = [
        "",
        f"## Stores and workers: PrivateGPT, wrk -t1 -c{part['connections']}, {part['rounds']} round(s) "
        f"of {part['seconds']:g} s, median",
        "",
        "| server | workers | GET req/s | GET p99 ms | POST req/s | POST p99 ms "
        "| CPU µs/request GET / POST | Redis CPU µs/request GET / POST | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in part["rows"]:
        get, post = row.get("status GET"), row.get("create POST")
        errors = sum((figures or {}).get("errors", 0) for figures in (get, post))
        lines.append(
            f"| {row['server']} | {row['workers']} | {cell(get, 'rps')} | {cell(get, 'p99_ms', 1)} "
            f"| {cell(post, 'rps')} | {cell(post, 'p99_ms', 1)} "
            f"| {cell(get, 'cpu_us')} / {cell(post, 'cpu_us')} "
            f"| {cell(get, 'redis_cpu_us')} / {cell(post, 'redis_cpu_us')} | {errors} |"
        )
    if part.get("streams"):
        lines += [
            "",
            "| streams (2 workers, Redis) | words/s each | lateness p50 / p99 / max ms "
            "| peak RSS MiB per worker | ended early |",
            "|---|---|---|---|---|",
        ]
        for row in part["streams"]:
            late = " / ".join(
                str(row.get(k, "-")) for k in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms")
            )
            lines.append(
                f"| {row['streams']:,} | {row['words_per_second_each']:g} | {late} "
                f"| {row['rss_peak_mib_per_worker']} | {row.get('ended_early', '-')} |"
            )
    return lines

"""The shared store's scale (``python -m bench.run --parts stores``): the mock on the memory store
and on a Redis store with 1 and 2 worker processes, beside the bare Starlette floor at the same
worker count; then paced streams over 2 workers on Redis.

One worker (and the floor's one) is pinned to the server core as elsewhere in the bench; two
workers need both cores, so they, the Redis server and the 2-worker floor run unpinned while wrk
stays on the load core (on a 2-core machine they share it with the load: the figures say what
one machine gives, not what two cores give each). The memory store at 2 workers is measured on
creates only: each of its workers has its own resources, so a status read of one id is a 404 on
the other half of the requests. CPU per request counts every process of the server (the
master and its workers) and, separately, the Redis server, and the Redis server's reads per request
(``total_reads_processed``: one per round trip a worker made). The Redis server is started by the
bench itself (``tools/redis_server.py``) on a free loopback port, emptied between setups.

A setup that fails (a server that does not start, a load that errs) is recorded as failed with its
reason and the rest runs, so the results file is always written.
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
from bench.contention import Sample, accepted_by, contention, per_worker, take, wait_listening, wait_shares
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
    target: Running, redis: RedisServer | None, call: dict[str, Any], seconds: float, connections: int
) -> dict[str, Any]:
    reads: list[int] = []

    def cpu() -> dict[str, float]:
        counters = {"cpu": tree_cpu(target.pid)}
        if redis is not None and redis.pid is not None:
            counters["redis_cpu"] = cpu_seconds(redis.pid)
            reads.append(_reads(redis))
        return counters

    figures = measure_call(
        target.url, call, {"Authorization": "bench-token"}, seconds=seconds, connections=connections, cpu=cpu
    )
    trips = (reads[1] - reads[0]) / figures["requests"] if len(reads) == 2 and figures["requests"] else None
    return {"redis_cpu_us": None, **figures, "round_trips": None if trips is None else round(trips, 2)}


def _reads(redis: RedisServer) -> int:
    """The Redis server's read events so far (a pipeline or a command: one per round trip)."""
    import redis as client  # noqa: PLC0415  (the bench's own look at the server)

    with client.Redis.from_url(redis.url) as connection:
        return int(connection.info("stats")["total_reads_processed"]) - 1  # less this INFO's own


def _failed(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


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
        env: dict[str, str] | None = None
        for store_kind, workers in SETUPS:
            row: dict[str, Any] = {"server": f"comeback, {store_kind} store", "workers": workers}
            store = redis.url if store_kind == "redis" else "memory"
            redis.flush()
            core = SERVER_CORE if workers == 1 else None
            try:
                with server(_serve(store, workers), "/__mock/clock", core=core, timeout=90) as mock:
                    env = env or floor_env(mock)
                    for call in calls:
                        if call["method"] == "GET" and store_kind == "memory" and workers > 1:
                            continue  # each worker has its own resources: see the module docstring
                        measured = []
                        for _ in range(rounds):
                            if call["method"] == "GET":
                                prepare(mock)
                            on = redis if store_kind == "redis" else None
                            measured.append(_measure(mock, on, call, seconds, connections))
                        row[call["name"]] = _median(measured)
            except Exception as error:  # recorded; the other setups still run
                row["failed"] = _failed(error)
            rows.append(row)
        for workers in (1, 2):
            row = {"server": "floor: bare Starlette", "workers": workers}
            core = SERVER_CORE if workers == 1 else None
            try:
                if env is None:
                    raise RuntimeError("no mock answered, so the floor has no bodies to send")
                with server(_floor(workers), calls[0]["path"], env=env, core=core, timeout=90) as floor:
                    for call in calls:
                        measured = [_measure(floor, None, call, seconds, connections) for _ in range(rounds)]
                        row[call["name"]] = _median(measured)
            except Exception as error:
                row["failed"] = _failed(error)
            rows.append(row)
        streams = []
        for count in stream_counts:
            try:
                streams.append(_streams(redis, count, rate))
            except Exception as error:
                failed = {"failed_run": _failed(error), "rss_peak_mib_per_worker": 0.0}
                streams.append({"streams": count, **failed})
    return {
        "rounds": rounds,
        "seconds": seconds,
        "connections": connections,
        "rows": rows,
        "streams": streams,
    }


def _median(measured: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for key in ("rps", "p99_ms", "cpu_us", "redis_cpu_us", "round_trips"):
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
            wait_listening(int(mock.url.rsplit(":", 1)[1]), STREAM_WORKERS)
            peaks: dict[int, float] = {}
            used: list[tuple[float, float]] = []  # (wall time, CPU seconds of the server's processes)
            waits: list[Sample] = []  # the workers' run-queue waits and the machine's busy cores
            owners: dict[int, int] = {}  # client port -> worker pid that accepted it
            done = threading.Event()

            def sample() -> None:
                while not done.wait(0.25):
                    used.append((time.time(), tree_cpu(mock.pid)))
                    workers = tree(mock.pid)[1:]  # the workers, not the master
                    waits.append(take(workers))
                    for member in workers:
                        try:
                            peaks[member] = max(peaks.get(member, 0.0), rss_mib(member))
                        except OSError:
                            continue

            def who_accepted() -> None:  # once, just before the first words are due: all are open
                if not done.wait(max(0.0, lead - 1.0)):
                    owners.update(accepted_by(int(mock.url.rsplit(":", 1)[1])))

            threads = [threading.Thread(target=job, daemon=True) for job in (sample, who_accepted)]
            for thread in threads:
                thread.start()
            headers = {"Authorization": "bench-token", "X-Mock-Scenario": f"bench-{count}"}
            began = time.perf_counter()
            reports = run_streams_in_processes(StreamRun(mock.url, count, headers, lead, rate))
            done.set()
            for thread in threads:
                thread.join()
            summary = summarize(reports)
            window = summary.pop("delivery_window", None)
            streams = [(stream.port, stream.lateness) for report in reports for stream in report.streams]
            return {
                **summary,
                **_delivery_cpu(used, window, summary.get("events", 0)),
                **contention(waits, window),
                "per_worker": per_worker(streams, owners, wait_shares(waits, window)),
                "workers": STREAM_WORKERS,
                "words_per_second_each": rate,
                "seconds": round(time.perf_counter() - began, 1),
                "rss_peak_mib_per_worker": round(max(peaks.values(), default=0.0), 1),
            }


def verdicts(part: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, target, met) for issue 21's targets (a run that failed: missed, with why)."""
    rows: list[tuple[str, str, str, bool | None]] = []
    by = {(row["server"], row["workers"]): row for row in part.get("rows", [])}
    base = by.get(("comeback, memory store", 1), {}).get("status GET")
    shared = by.get(("comeback, redis store", 2), {}).get("status GET")
    what = "status GET: Redis store at 2 workers / memory store at 1"
    if base and shared and base["rps"]:
        ratio = shared["rps"] / base["rps"]
        rows.append((what, f"{ratio:.2f}x", f">= {GET_TARGET:g}x", ratio >= GET_TARGET))
    else:
        failed = [row.get("failed") for row in part.get("rows", []) if row.get("failed")]
        rows.append((what, f"failed: {failed[0]}" if failed else "-", f">= {GET_TARGET:g}x", None))
    for row in part.get("streams", []):
        limit = STREAM_LIMITS.get(row["streams"])
        if limit is None:
            continue
        what = f"{row['streams']} streams over 2 workers (Redis): p99 lateness"
        why = _stream_failure(row)
        if why:
            rows.append((what, f"failed: {why}", f"<= {limit:g} ms", False))
        elif "lateness_p99_ms" in row:
            late = row["lateness_p99_ms"]
            rows.append((what, f"{late:.1f} ms{_contended(row)}", f"<= {limit:g} ms", late <= limit))
        if row.get("rss_peak_mib_per_worker"):
            rss = row["rss_peak_mib_per_worker"] * 1.048576
            what = f"{row['streams']} streams over 2 workers: peak RSS per worker"
            rows.append((what, f"{rss:.0f} MB", f"<= {RSS_LIMIT_MB:g} MB", rss <= RSS_LIMIT_MB))
    return rows


def _delivery_cpu(
    used: list[tuple[float, float]], window: tuple[float, float] | None, events: int
) -> dict[str, float]:
    """The server's CPU while the words were due: cores busy, and µs per event sent (a lateness
    miss with the cores full is a CPU budget, not a timer, problem)."""
    inside = [sample for sample in used if window is not None and window[0] <= sample[0] <= window[1]]
    if len(inside) < 2 or not events or window is None:
        return {}
    seconds = inside[-1][1] - inside[0][1]
    share = seconds / (inside[-1][0] - inside[0][0])
    per_event = seconds / (events * (inside[-1][0] - inside[0][0]) / (window[1] - window[0]))
    return {"server_cores_busy": round(share, 2), "server_cpu_us_per_event": round(per_event * 1e6, 1)}


CONTENDED_SHARE = 0.1  # a worker runnable but off-core this much of the delivery: say so beside a miss


def _contended(row: dict[str, Any]) -> str:
    """A note for a lateness figure measured while the workers waited for cores (other processes
    had them): the verdict stands, and the note says where the time went."""
    waited = row.get("worker_wait_share")
    if waited is None or waited < CONTENDED_SHARE:
        return ""
    busy = row.get("machine_cores_busy", "-")
    return f" (a worker waited {waited:.0%} of the delivery for a core; machine cores busy {busy})"


def _stream_failure(row: dict[str, Any]) -> str:
    """Why a stream run failed (the run, or some streams' set-up), or ''."""
    if row.get("failed_run"):
        return str(row["failed_run"])
    return f"{row['failed']} streams failed: {row['failure']}" if row.get("failed") else ""


def floor_shares(part: dict[str, Any]) -> dict[tuple[str, int], dict[str, float]]:
    """Each mock row's req/s as a share of the floor at the same worker count, per call."""
    floors = {row["workers"]: row for row in part.get("rows", []) if row["server"].startswith("floor")}
    shares: dict[tuple[str, int], dict[str, float]] = {}
    for row in part.get("rows", []):
        floor = floors.get(row["workers"])
        if floor is None or row is floor:
            continue
        for call in ("status GET", "create POST"):
            mine, bare = row.get(call), floor.get(call)
            if mine and bare and bare.get("rps"):
                shares.setdefault((row["server"], row["workers"]), {})[call] = mine["rps"] / bare["rps"]
    return shares


def reachable(part: dict[str, Any]) -> str | None:
    """What the GET target asks of the 2-worker Redis mock, as a share of the 2-worker floor: when
    wrk shares the cores, the floor itself barely grows with a second worker."""
    by = {(row["server"], row["workers"]): row for row in part.get("rows", [])}
    base = by.get(("comeback, memory store", 1), {}).get("status GET")
    floor = by.get(("floor: bare Starlette", 2), {}).get("status GET")
    floor_one = by.get(("floor: bare Starlette", 1), {}).get("status GET")
    if not (base and floor and floor_one and floor["rps"] and floor_one["rps"]):
        return None
    needed = GET_TARGET * base["rps"] / floor["rps"]
    return (
        f"The floor gives {floor['rps']:,.0f} GET/s at 2 workers, {floor['rps'] / floor_one['rps']:.2f}x "
        f"its 1 worker: {GET_TARGET:g}x the memory store at 1 worker ({base['rps']:,.0f}) needs the "
        f"Redis store at 2 workers to reach {needed:.0%} of the 2-worker floor, while the memory store "
        f"at 1 worker reaches {base['rps'] / floor_one['rps']:.0%} of the 1-worker floor."
    )


def markdown(part: dict[str, Any]) -> list[str]:
    def cell(figures: dict[str, Any] | None, key: str, digits: int = 0) -> str:
        value = None if figures is None else figures.get(key)
        return "-" if value is None else f"{value:,.{digits}f}"

    shares = floor_shares(part)
    lines = [
        "",
        f"## Stores and workers: PrivateGPT, wrk -t1 -c{part['connections']}, {part['rounds']} round(s) "
        f"of {part['seconds']:g} s, median",
        "",
        "| server | workers | GET req/s | GET p99 ms | POST req/s | POST p99 ms | of the floor (same "
        "workers) GET / POST | CPU µs/request GET / POST | Redis CPU µs/request GET / POST "
        "| Redis round trips/request GET / POST | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in part["rows"]:
        if row.get("failed"):
            lines.append(f"| {row['server']} | {row['workers']} | failed: {row['failed']} |||||||||")
            continue
        get, post = row.get("status GET"), row.get("create POST")
        errors = sum((figures or {}).get("errors", 0) for figures in (get, post))
        share = shares.get((row["server"], row["workers"]), {})
        of_floor = " / ".join(f"{share[c]:.0%}" if c in share else "-" for c in ("status GET", "create POST"))
        lines.append(
            f"| {row['server']} | {row['workers']} | {cell(get, 'rps')} | {cell(get, 'p99_ms', 1)} "
            f"| {cell(post, 'rps')} | {cell(post, 'p99_ms', 1)} | {of_floor} "
            f"| {cell(get, 'cpu_us')} / {cell(post, 'cpu_us')} "
            f"| {cell(get, 'redis_cpu_us')} / {cell(post, 'redis_cpu_us')} "
            f"| {cell(get, 'round_trips', 2)} / {cell(post, 'round_trips', 2)} | {errors} |"
        )
    if (note := reachable(part)) is not None:
        lines += ["", note]
    if part.get("streams"):
        lines += [
            "",
            "| streams (2 workers, Redis) | words/s each | lateness p50 / p99 / max ms "
            "| peak RSS MiB per worker | server cores busy, µs per event | machine cores busy (all "
            "processes) | run-queue wait share: worst worker / worst client | per worker: connections "
            "(p99 ms, run-queue wait share) | ended early | failed |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in part["streams"]:
            late = " / ".join(
                str(row.get(k, "-")) for k in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms")
            )
            failed = _stream_failure(row) or 0
            lines.append(
                f"| {row['streams']:,} | {row.get('words_per_second_each', '-')} | {late} "
                f"| {row['rss_peak_mib_per_worker']} "
                f"| {row.get('server_cores_busy', '-')}, {row.get('server_cpu_us_per_event', '-')} "
                f"| {row.get('machine_cores_busy', '-')} "
                f"| {row.get('worker_wait_share', '-')} / {row.get('client_wait_share', '-')} "
                f"| {_workers_cell(row)} | {row.get('ended_early', '-')} | {failed} |"
            )
    return lines


def _workers_cell(row: dict[str, Any]) -> str:
    """Connections each worker accepted, with its words' p99 lateness (uneven: the kernel's choice)."""
    workers = row.get("per_worker") or []
    cells = []
    for worker in workers:
        waited = f", waited {worker['wait_share']:.0%}" if "wait_share" in worker else ""
        cells.append(f"{worker['connections']:,} ({worker['lateness_p99_ms']:g}{waited})")
    return ", ".join(cells) or "-"

"""The benchmark: ``bench/setup.sh && python -m bench.run`` (about 18 minutes; ``--quick``: about 5).

Measures in one run on one machine, and writes ``bench/results/<date>.md`` and ``.json``:

- request/response: the mock as installed, the same on pure-Python asyncio + h11, the bare
  Starlette floor, Prism and WireMock (``bench/contenders.py``), all running at once, each pinned to
  the server core with wrk pinned to the other; rounds interleaved (every server once per round, the
  order rotating), the median of the rounds reported, plus each server's CPU time per request
  (steadier than req/s on a shared machine);
- paced SSE streams at 1,000 / 5,000 / 10,000 on one mock process, in steady state (``bench/sse.py``);
- start to first answer and idle memory; the contract kit's wall time per API;
- the shared store: memory and Redis stores at 1 and 2 workers beside the floor at the same worker
  count, and paced streams over 2 workers on Redis (``bench/stores.py``; it starts its own Redis).

Every figure the issue sets a target for is printed beside it, met or missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.contenders import COMEBACK, ROOT, TOKEN, Contender, comeback_serve, contenders
from bench.load import measure_call, wrk_available
from bench.procs import Running, can_pin, cpu_seconds, rss_mib, server
from bench.sse import StreamRun, lead_seconds, run_streams_in_processes, summarize, write_scenarios
from bench.stores import markdown as stores_markdown
from bench.stores import stores
from bench.stores import verdicts as stores_verdicts

PGPT_BODY = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
PGPT_HEADERS = {"Authorization": TOKEN}
STATUS = "/v1/messages/async/bench-1/status"
CALLS: list[dict[str, Any]] = [
    {
        "name": "status GET",
        "method": "GET",
        "path": STATUS,
        "route": "GET /v1/messages/async/{message_id}/status",
        "body": None,
    },
    {
        "name": "create POST",
        "method": "POST",
        "path": "/v1/messages/async",
        "route": "POST /v1/messages/async",
        "body": PGPT_BODY,
    },
]


@dataclass(frozen=True, slots=True)
class Mode:
    rounds: int
    seconds: float
    connections: int
    streams: tuple[int, ...]
    stream_rate: float  # words per second in each stream
    start_runs: int
    kit: tuple[str, ...]
    kit_phases: tuple[str, ...] = ()
    warmup_scale: float = 1.0
    store_streams: tuple[int, ...] = ()  # paced streams over 2 workers on the Redis store


PARTS = ("requests", "streams", "start", "kit", "stores")
MODES = {
    "full": Mode(
        3,
        10,
        32,
        (1000, 5000, 10000),
        2.0,
        5,
        ("privategpt", "chatzy", "invent", "letta"),
        (),
        1.0,
        (5000, 10000),
    ),
    "quick": Mode(1, 5, 32, (1000, 5000), 2.0, 3, (), warmup_scale=0.5, store_streams=(5000,)),
    "smoke": Mode(
        1, 1, 4, (20,), 20.0, 1, ("chatzy",), ("lifecycle",), warmup_scale=0.0, store_streams=(20,)
    ),
}


# -- request/response ---------------------------------------------------------------------------------
def record_bodies(mock: Running) -> dict[str, str]:
    """The mock's answers to the measured calls (a completed message's status, a create), by route."""
    status = completed_message(mock)
    create = httpx.post(f"{mock.url}/v1/messages/async", json=PGPT_BODY, headers=PGPT_HEADERS)
    return {CALLS[0]["route"]: status, CALLS[1]["route"]: create.text}


def completed_message(mock: Running) -> str:
    """Make sure message bench-1 exists and is completed (a create flood may have evicted it, being
    the oldest finished resource); its status body."""
    status = httpx.get(mock.url + STATUS, headers=PGPT_HEADERS)
    if status.status_code == 404:
        create = f"{mock.url}/v1/messages/async"
        httpx.post(create, params={"message_id": "bench-1"}, json=PGPT_BODY, headers=PGPT_HEADERS)
    for _ in range(10):  # walk the scenario to its end now rather than wait for it
        status = httpx.get(mock.url + STATUS, headers=PGPT_HEADERS)
        if status.status_code == 200 and status.json().get("status") == "completed":
            return status.text
        httpx.post(f"{mock.url}/__mock/resources/privategpt/bench-1/next", json={})
    raise RuntimeError(f"bench-1 did not complete: {status.status_code} {status.text}")


def measure(target: Running, call: dict[str, Any], seconds: float, connections: int) -> dict[str, Any]:
    """One wrk run against one server, with the server's CPU time per request."""
    cpu = lambda: {"cpu": cpu_seconds(target.pid)}  # noqa: E731
    return measure_call(target.url, call, PGPT_HEADERS, seconds=seconds, connections=connections, cpu=cpu)


def request_response(mode: Mode, only: set[str] | None) -> dict[str, Any]:
    """Every contender at once; interleaved rounds; the median of each figure over the rounds."""
    with tempfile.TemporaryDirectory(prefix="comeback-bench-") as work, ExitStack() as stack:
        first = stack.enter_context(server(comeback_serve("--api", "privategpt"), "/__mock/clock"))
        bodies = record_bodies(first)
        everyone = contenders(bodies, Path(work), STATUS)
        chosen = [c for c in everyone if only is None or c.name in only]
        running: dict[str, Running] = {}
        for contender in chosen:
            if contender.missing is not None:
                continue
            if contender.name == "comeback":
                running[contender.name] = first
                continue
            running[contender.name] = stack.enter_context(_start(contender))
            if contender.is_mock:
                record_bodies(running[contender.name])
        for contender in chosen:  # warm-up, not recorded (the JVM compiles its hot path here)
            if contender.name in running and mode.warmup_scale > 0:
                for call in CALLS:
                    seconds = contender.warmup_seconds * mode.warmup_scale
                    measure(running[contender.name], call, seconds, mode.connections)
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            call["name"]: {name: [] for name in running} for call in CALLS
        }
        names = list(running)
        mocks = {c.name for c in chosen if c.is_mock}
        for round_number in range(mode.rounds):
            order = names[round_number % len(names) :] + names[: round_number % len(names)]
            for call in CALLS:  # the reads first: the creates that follow may evict bench-1
                for name in order:
                    if call is CALLS[0] and name in mocks:
                        completed_message(running[name])
                    runs[call["name"]][name].append(
                        measure(running[name], call, mode.seconds, mode.connections)
                    )
        return {
            "contenders": [{"name": c.name, "label": c.label, "missing": c.missing} for c in chosen],
            "bodies": {route: len(body) for route, body in bodies.items()},
            "rounds": mode.rounds,
            "seconds": mode.seconds,
            "connections": mode.connections,
            "calls": {
                call: {name: median_of(rounds) for name, rounds in by_name.items()}
                for call, by_name in runs.items()
            },
        }


def _start(contender: Contender) -> Any:
    return server(contender.command, contender.probe, env=contender.env, headers=PGPT_HEADERS, timeout=90)


def median_of(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each figure over the rounds (errors are summed), and the rounds themselves."""
    figures = {}
    for key in ("rps", "p50_ms", "p99_ms", "cpu_us"):
        values = [r[key] for r in rounds if r[key] is not None]
        figures[key] = round(statistics.median(values), 2) if values else None
    return {
        **figures,
        "errors": sum(r["errors"] for r in rounds),
        "tool": rounds[0]["tool"],
        "rounds": rounds,
    }


# -- streams ------------------------------------------------------------------------------------------
def streams(counts: tuple[int, ...], rate: float) -> list[dict[str, Any]]:
    """Each count on a fresh mock process, its scenario's lead long enough to open every stream first."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="comeback-streams-") as work:
        plans = {f"bench-{count}": (lead_seconds(count), rate) for count in counts}
        folder = write_scenarios(Path(work), plans)
        for count in counts:
            command = comeback_serve(
                "--api", "privategpt", "--scenarios", str(folder), "--max-resources", str(2 * count + 100)
            )
            with server(command, "/__mock/clock") as mock:
                idle = rss_mib(mock.pid)
                samples: list[tuple[float, float, float]] = []  # (wall time, CPU s, RSS MiB)
                done = threading.Event()
                sampler = threading.Thread(target=_sample, args=(mock.pid, samples, done), daemon=True)
                sampler.start()
                lead, pace = plans[f"bench-{count}"]
                headers = {**PGPT_HEADERS, "X-Mock-Scenario": f"bench-{count}"}
                began = time.perf_counter()
                reports = run_streams_in_processes(StreamRun(mock.url, count, headers, lead, pace))
                seconds = time.perf_counter() - began
                done.set()
                sampler.join()
                summary = summarize(reports)
                window = summary.pop("delivery_window", None)
                rows.append(
                    {
                        **summary,
                        "words_per_second_each": pace,
                        "lead_s": lead,
                        "seconds": round(seconds, 1),
                        "rss_idle_mib": round(idle, 1),
                        "rss_peak_mib": round(max((s[2] for s in samples), default=idle), 1),
                        "server_cpu_share": _cpu_share(samples, window),
                    }
                )
    return rows


def _sample(pid: int, samples: list[tuple[float, float, float]], done: threading.Event) -> None:
    while not done.wait(0.25):
        samples.append((time.time(), cpu_seconds(pid), rss_mib(pid)))


def _cpu_share(samples: list[tuple[float, float, float]], window: tuple[float, float] | None) -> float | None:
    """The share of one core the server used during the delivery window (from the samples)."""
    if window is None:
        return None
    inside = [s for s in samples if window[0] <= s[0] <= window[1]]
    if len(inside) < 2:
        return None
    return round((inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0]), 2)


# -- start-up and footprint -------------------------------------------------------------------------
def start_and_footprint(runs: int) -> dict[str, Any]:
    """``comeback serve`` with every bundled API: process start to the first API answer; idle RSS.

    The project's modules are byte-compiled first, as an install from a wheel has them: a checkout
    run with PYTHONDONTWRITEBYTECODE (set on some machines) would compile every module at each start.
    """
    packages = [str(ROOT / name) for name in ("comeback", "lifecycle", "mockserver")]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *packages], check=True)
    starts, idle = [], []
    letta = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(runs):
        with server(comeback_serve(), "/v1/runs/", headers=letta) as mock:
            starts.append(mock.started_in)
            time.sleep(1.0)
            idle.append(rss_mib(mock.pid))
    return {
        "start_s": round(statistics.median(starts), 3),
        "idle_rss_mib": round(statistics.median(idle), 1),
        "runs": runs,
    }


# -- the contract kit ---------------------------------------------------------------------------------
def kit(apis: tuple[str, ...], phases: tuple[str, ...]) -> list[dict[str, Any]]:
    headers = {"privategpt": TOKEN, "letta": f"Bearer {TOKEN}", "invent": f"Bearer {TOKEN}"}
    rows: list[dict[str, Any]] = []
    if not apis:
        return rows
    with server(comeback_serve(), "/__mock/clock") as mock:
        for api in apis:
            command = [*COMEBACK, "check", str(ROOT / "openapi" / f"{api}.yaml"), "--base-url", mock.url]
            command += [part for phase in phases for part in ("--phase", phase)]
            if api in headers:
                command += ["--header", f"Authorization: {headers[api]}"]
            began = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            rows.append(
                {"api": api, "seconds": round(time.perf_counter() - began, 1), "exit": result.returncode}
            )
    return rows


# -- report -------------------------------------------------------------------------------------------
def verdicts(results: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, target, met) for each target of the issue; met is None when not measured."""
    rows: list[tuple[str, str, str, bool | None]] = []
    calls = results["request_response"]["calls"] if results.get("request_response") else {}
    get, post = calls.get("status GET", {}), calls.get("create POST", {})
    connections = results.get("request_response", {}).get("connections")

    def ratio(table: dict[str, Any], name: str, other: str) -> float | None:
        if name in table and other in table and table[other]["rps"]:
            return float(table[name]["rps"]) / float(table[other]["rps"])
        return None

    def share(what: str, value: float | None, target: float, times: bool = False) -> None:
        shown = "-" if value is None else (f"{value:.1f}x" if times else f"{value:.0%}")
        goal = f">= {target:g}x" if times else f">= {target:.0%}"
        rows.append((what, shown, goal, None if value is None else value >= target))

    share("status GET: comeback / floor req/s", ratio(get, "comeback", "floor"), 0.7)
    share("status GET: comeback / Prism req/s", ratio(get, "comeback", "prism"), 4.0, times=True)
    if "comeback" in get:
        p99 = float(get["comeback"]["p99_ms"])
        rows.append((f"status GET: p99 at {connections} connections", f"{p99:.1f} ms", "<= 15 ms", p99 <= 15))
    share("create POST: comeback / floor req/s", ratio(post, "comeback", "floor"), 0.4)
    limits = {5000: 20.0, 10000: 50.0}
    for row in results.get("streams", []):
        limit = limits.get(row["streams"])
        if limit is not None and "lateness_p99_ms" in row:
            late = row["lateness_p99_ms"]
            what = f"{row['streams']} streams: p99 lateness"
            rows.append((what, f"{late:.1f} ms", f"<= {limit:g} ms", late <= limit))
        if row["streams"] == 10000:
            rss = row["rss_peak_mib"] * 1.048576  # MiB -> MB
            rows.append(("10000 streams: peak RSS", f"{rss:.0f} MB", "<= 300 MB", rss <= 300))
    start = results.get("start")
    if start:
        rows.append(("start to first answer", f"{start['start_s']:.2f} s", "<= 1 s", start["start_s"] <= 1.0))
        idle = start["idle_rss_mib"] * 1.048576
        rows.append(("idle RSS (every bundled API)", f"{idle:.0f} MB", "<= 80 MB", idle <= 80))
    if results.get("stores"):
        rows += stores_verdicts(results["stores"])
    for row in results.get("kit", []):
        rows.append(
            (
                f"comeback check {row['api']} (exit {row['exit']})",
                f"{row['seconds']:.1f} s",
                "<= 60 s",
                row["seconds"] <= 60 and row["exit"] == 0,
            )
        )
    return rows


def _cell(figures: dict[str, Any] | None, key: str, digits: int = 0) -> str:
    if figures is None or figures.get(key) is None:
        return "-"
    return f"{figures[key]:,.{digits}f}"


def markdown(results: dict[str, Any]) -> str:
    lines = [f"# Benchmark {results['date']}", "", f"Machine: {results['machine']}", ""]
    lines += [f"Mode: {results['mode']}; wall time {results.get('wall_seconds', '?')} s.", ""]
    lines += ["## Targets", "", "| measure | result | target | |", "|---|---|---|---|"]
    verdict = {True: "met", False: "MISSED", None: "not measured"}
    lines += [f"| {what} | {got} | {goal} | {verdict[met]} |" for what, got, goal, met in verdicts(results)]
    for name, why in results.get("failed", {}).items():
        lines += ["", f"Part {name} FAILED: {why}"]
    rr = results.get("request_response")
    if rr:
        lines += [
            "",
            f"## Request/response: PrivateGPT, wrk -t1 -c{rr['connections']}, "
            f"{rr['rounds']} interleaved round(s) of {rr['seconds']:g} s, median",
            "",
            "| server | GET req/s | GET p50 / p99 ms | POST req/s | POST p50 / p99 ms "
            "| CPU µs/request GET / POST | errors |",
            "|---|---|---|---|---|---|---|",
        ]
        get, post = rr["calls"].get("status GET", {}), rr["calls"].get("create POST", {})
        for contender in rr["contenders"]:
            name = contender["name"]
            if contender["missing"]:
                lines.append(f"| {contender['label']} | {contender['missing']} | | | | | |")
                continue
            g, p = get.get(name), post.get(name)
            latency_get = f"{_cell(g, 'p50_ms', 2)} / {_cell(g, 'p99_ms', 1)}"
            latency_post = f"{_cell(p, 'p50_ms', 2)} / {_cell(p, 'p99_ms', 1)}"
            cpu = f"{_cell(g, 'cpu_us')} / {_cell(p, 'cpu_us')}"
            errors = (g or {}).get("errors", 0) + (p or {}).get("errors", 0)
            lines.append(
                f"| {contender['label']} | {_cell(g, 'rps')} | {latency_get} | {_cell(p, 'rps')} "
                f"| {latency_post} | {cpu} | {errors} |"
            )
        tool = next((figures["tool"] for figures in get.values()), "-")
        lines += ["", f"Load tool: {tool}. Body sizes (bytes): {rr['bodies']}."]
    if results.get("streams"):
        lines += [
            "",
            "## Paced SSE streams, one mock process (steady state)",
            "",
            "| streams | words/s each | events | events/s | lateness p50 / p99 / max ms | peak RSS MiB "
            "| server CPU | all open before first word (margin s) | ended early |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in results["streams"]:
            late = " / ".join(
                str(row.get(k, "-")) for k in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms")
            )
            share = row.get("server_cpu_share")
            cpu = "-" if share is None else f"{share:.0%}"
            margin = row.get("open_margin_s", "-")
            lines.append(
                f"| {row['streams']:,} | {row['words_per_second_each']:g} | {row.get('events', 0):,} "
                f"| {row.get('events_per_second', '-')} | {late} | {row['rss_peak_mib']} | {cpu} "
                f"| {margin} | {row.get('ended_early', '-')} |"
            )
    start = results.get("start")
    if start:
        lines += [
            "",
            f"Start to first answer (every bundled API): {start['start_s']:.2f} s; idle RSS "
            f"{start['idle_rss_mib']:.0f} MiB (median of {start['runs']}).",
        ]
    if results.get("stores"):
        lines += stores_markdown(results["stores"])
    if results.get("kit"):
        lines += ["", "## Contract kit (default budget)", "", "| api | seconds | exit |", "|---|---|---|"]
        lines += [f"| {row['api']} | {row['seconds']} | {row['exit']} |" for row in results["kit"]]
    return "\n".join(lines) + "\n"


def _part(results: dict[str, Any], name: str, measure: Callable[[], Any]) -> None:
    """``results[name] = measure()``; a failure is kept as ``results["failed"][name]`` (its reason)."""
    try:
        results[name] = measure()
    except Exception as error:  # the part failed; the results file says why, with the other parts
        results.setdefault("failed", {})[name] = f"{type(error).__name__}: {error}"[:500]
        print(f"{name} failed: {results['failed'][name]}", file=sys.stderr, flush=True)


def machine() -> str:
    cpu = "?"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.platform()}, "
        f"wrk: {'yes' if wrk_available() else 'no'}, pinned: {'yes' if can_pin() else 'no'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--quick",
        action="store_true",
        help="one round of 5 s, 1,000 and 5,000 streams, no kit: ~5 minutes (default: off, full run)",
    )
    size.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny load, to see the harness run; figures meaningless (default: off)",
    )
    parser.add_argument(
        "--words-per-second",
        type=float,
        help="pace of each stream's words (default: 2; the smoke run uses 20)",
    )
    parser.add_argument(
        "--servers",
        help="comma-separated contenders to run (default: all: comeback,comeback-pure,floor,prism,wiremock)",
    )
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated parts to measure (default: all: {','.join(PARTS)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "bench" / "results",
        help="folder for the .md and .json results (default: bench/results)",
    )
    arguments = parser.parse_args(argv)
    mode_name = "smoke" if arguments.smoke else "quick" if arguments.quick else "full"
    mode = MODES[mode_name]
    only = set(arguments.servers.split(",")) if arguments.servers else None
    parts = set(arguments.parts.split(","))
    if unknown := parts - set(PARTS):
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    began = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "time": datetime.now(UTC).strftime("%H:%M UTC"),
        "machine": machine(),
        "mode": mode_name,
    }
    # a part that fails is recorded with its reason; the others still run and the files are written
    rate = arguments.words_per_second or mode.stream_rate
    if "requests" in parts:
        print("request/response ...", flush=True)
        _part(results, "request_response", lambda: request_response(mode, only))
    if "streams" in parts:
        print("streams ...", flush=True)
        _part(results, "streams", lambda: streams(mode.streams, rate))
    if "start" in parts:
        print("start-up and footprint ...", flush=True)
        _part(results, "start", lambda: start_and_footprint(mode.start_runs))
    if "kit" in parts:
        print("contract kit ...", flush=True)
        _part(results, "kit", lambda: kit(mode.kit, mode.kit_phases))
    if "stores" in parts:
        print("stores and workers ...", flush=True)
        _part(
            results,
            "stores",
            lambda: stores(
                CALLS,
                completed_message,
                lambda mock: {"FLOOR_BODIES": json.dumps(record_bodies(mock))},
                rounds=mode.rounds,
                seconds=mode.seconds,
                connections=mode.connections,
                stream_counts=mode.store_streams,
                rate=rate,
            ),
        )
    results["wall_seconds"] = round(time.perf_counter() - began, 1)
    arguments.out.mkdir(parents=True, exist_ok=True)
    partial = "" if parts == set(PARTS) else "-" + "-".join(p for p in PARTS if p in parts)
    stem = arguments.out / (results["date"] + ("" if mode_name == "full" else f"-{mode_name}") + partial)
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    print(f"written: {stem}.md and .json ({results['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

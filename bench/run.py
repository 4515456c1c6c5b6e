"""The benchmark: ``python -m bench.run`` (``bench/setup.sh`` installs wrk first).

Measures, in one run on one machine, and writes ``bench/results/<date>.md`` and ``.json``:
request/response of the mock against a bare Starlette floor (interleaved A B A B), many concurrent
SSE streams, start-up time and idle memory, and the contract kit's wall time per API. Each figure
is printed with its target and pass/miss.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.load import run_load, wrk_available
from bench.procs import Running, python_command, rss_mib, server
from bench.sse import run_streams_in_processes, summarize

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
PGPT_BODY = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
COMEBACK = [sys.executable, "-m", "comeback.cli"]


def serve_command(*extra: str) -> list[str]:
    return [*COMEBACK, "serve", "--port", "{port}", "--token", TOKEN, "--log-level", "warning", *extra]


# -- request/response ---------------------------------------------------------------------------------
def endpoints(mock: Running) -> list[dict[str, Any]]:
    """The four measured calls, with in-progress resources created on the mock first."""
    pgpt = {"Authorization": TOKEN}
    letta = {"Authorization": f"Bearer {TOKEN}"}
    httpx.post(
        f"{mock.url}/v1/messages/async",
        params={"message_id": "bench-1"},
        json=PGPT_BODY,
        headers={**pgpt, "X-Mock-Scenario": "never-finishes"},
    )
    run = httpx.post(
        f"{mock.url}/v1/agents/{AGENT}/messages/async",
        json={"input": "Hi"},
        headers={**letta, "X-Mock-Scenario": "never-finishes"},
    ).json()["id"]
    return [
        {
            "name": "PrivateGPT status GET",
            "method": "GET",
            "path": "/v1/messages/async/bench-1/status",
            "route": "GET /v1/messages/async/{message_id}/status",
            "headers": pgpt,
            "body": None,
        },
        {
            "name": "PrivateGPT create POST",
            "method": "POST",
            "path": "/v1/messages/async",
            "route": "POST /v1/messages/async",
            "headers": pgpt,
            "body": PGPT_BODY,
        },
        {
            "name": "Letta run GET",
            "method": "GET",
            "path": f"/v1/runs/{run}",
            "route": "GET /v1/runs/{run_id}",
            "headers": letta,
            "body": None,
        },
        {
            "name": "Letta create POST",
            "method": "POST",
            "path": f"/v1/agents/{AGENT}/messages/async",
            "route": "POST /v1/agents/{agent_id}/messages/async",
            "headers": letta,
            "body": {"input": "Hi"},
        },
    ]


def request_response(seconds: float, connections: int) -> list[dict[str, Any]]:
    rows = []
    with server(serve_command("--api", "privategpt", "--api", "letta"), "/__mock/clock") as mock:
        calls = endpoints(mock)
        bodies = {}
        for call in calls:  # the floor answers with a body of the same size as the mock's
            response = httpx.request(
                call["method"], mock.url + call["path"], headers=call["headers"], json=call["body"]
            )
            bodies[call["route"]] = response.text
        floor_command = python_command(
            "-m",
            "uvicorn",
            "bench.floor:create_floor",
            "--factory",
            "--port",
            "{port}",
            "--log-level",
            "warning",
        )
        with server(floor_command, calls[0]["path"], env={"FLOOR_BODIES": json.dumps(bodies)}) as floor:
            for call in calls:
                runs: dict[str, list[Any]] = {"floor": [], "mock": []}
                for _ in range(2):  # A B A B: machine drift hits both alike
                    for name, target in (("floor", floor), ("mock", mock)):
                        runs[name].append(
                            run_load(
                                target.url + call["path"],
                                call["method"],
                                call["headers"],
                                call["body"],
                                seconds=seconds,
                                connections=connections,
                            )
                        )
                rows.append(_row(call["name"], runs, connections))
    return rows


def _row(name: str, runs: dict[str, list[Any]], connections: int) -> dict[str, Any]:
    def mean(side: str, field: str) -> float:
        return round(statistics.fmean(getattr(load, field) for load in runs[side]), 2)

    floor_rps, mock_rps = mean("floor", "requests_per_second"), mean("mock", "requests_per_second")
    return {
        "call": name,
        "connections": connections,
        "floor_rps": floor_rps,
        "mock_rps": mock_rps,
        "ratio": round(mock_rps / floor_rps, 3) if floor_rps else None,
        "floor_p50_ms": mean("floor", "p50_ms"),
        "floor_p99_ms": mean("floor", "p99_ms"),
        "mock_p50_ms": mean("mock", "p50_ms"),
        "mock_p99_ms": mean("mock", "p99_ms"),
        "mock_errors": sum(load.errors for load in runs["mock"]),
        "tool": runs["mock"][0].tool,
    }


# -- streams ------------------------------------------------------------------------------------------
def streams(counts: list[int], speed: float) -> list[dict[str, Any]]:
    rows = []
    scenarios = str(ROOT / "bench" / "scenarios")
    command = serve_command(
        "--api", "privategpt", "--scenarios", scenarios, "--speed", str(speed), "--max-resources", "100000"
    )
    with server(command, "/__mock/clock") as mock:
        for count in counts:
            peak = [rss_mib(mock.pid)]
            done = threading.Event()

            def sample(done: threading.Event = done, peak: list[float] = peak) -> None:
                while not done.wait(0.25):
                    peak.append(rss_mib(mock.pid))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            began = time.perf_counter()
            results = run_streams_in_processes(mock.url, count, {"Authorization": TOKEN}, speed)
            seconds = time.perf_counter() - began
            done.set()
            sampler.join()
            rows.append(
                {
                    **summarize(results, seconds),
                    "seconds": round(seconds, 1),
                    "rss_peak_mib": round(max(peak), 1),
                }
            )
            httpx.post(f"{mock.url}/__mock/reset", json={})
    return rows


# -- start-up and footprint -------------------------------------------------------------------------
def start_and_footprint(runs: int) -> dict[str, Any]:
    starts, idle = [], []
    for _ in range(runs):
        with server(serve_command(), "/__mock/clock") as mock:
            httpx.get(f"{mock.url}/v1/runs/", headers={"Authorization": f"Bearer {TOKEN}"}).raise_for_status()
            starts.append(mock.started_in)
            time.sleep(1.0)
            idle.append(rss_mib(mock.pid))
    return {
        "start_s": round(statistics.median(starts), 3),
        "idle_rss_mib": round(statistics.median(idle), 1),
        "runs": runs,
    }


# -- the contract kit ---------------------------------------------------------------------------------
def kit(apis: list[str], extra: list[str]) -> list[dict[str, Any]]:
    headers = {"privategpt": TOKEN, "letta": f"Bearer {TOKEN}", "invent": f"Bearer {TOKEN}"}
    rows = []
    with server(serve_command(), "/__mock/clock") as mock:
        for api in apis:
            command = [
                *COMEBACK,
                "check",
                str(ROOT / "openapi" / f"{api}.yaml"),
                "--base-url",
                mock.url,
                *extra,
            ]
            if api in headers:
                command += ["--header", f"Authorization: {headers[api]}"]
            began = time.perf_counter()
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            rows.append(
                {"api": api, "seconds": round(time.perf_counter() - began, 1), "exit": result.returncode}
            )
    return rows


# -- report -------------------------------------------------------------------------------------------
def verdicts(results: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(what, measured, target, met) for each target of the issue."""
    rows = []
    for row in results["request_response"]:
        if "GET" in row["call"]:
            rows.append(
                (
                    f"{row['call']}: mock/floor requests/s",
                    f"{row['ratio']:.0%}",
                    ">= 60%",
                    bool(row["ratio"] and row["ratio"] >= 0.6),
                )
            )
            rows.append(
                (
                    f"{row['call']}: p99 at {row['connections']} connections",
                    f"{row['mock_p99_ms']:.1f} ms",
                    "<= 15 ms",
                    row["mock_p99_ms"] <= 15,
                )
            )
    largest = max(results["streams"], key=lambda row: row["streams"], default=None)
    if largest and "lateness_p99_ms" in largest:
        rows.append(
            (
                f"{largest['streams']} streams: p99 lateness",
                f"{largest['lateness_p99_ms']:.1f} ms",
                "<= 20 ms",
                largest["lateness_p99_ms"] <= 20,
            )
        )
        rows.append(
            (
                f"{largest['streams']} streams: peak RSS",
                f"{largest['rss_peak_mib']:.0f} MiB",
                "<= 300 MB",
                largest["rss_peak_mib"] <= 286,
            )
        )
    start = results["start"]
    rows.append(
        ("start to first 200, all four APIs", f"{start['start_s']:.2f} s", "<= 1 s", start["start_s"] <= 1.0)
    )
    rows.append(("idle RSS", f"{start['idle_rss_mib']:.0f} MiB", "<= 80 MB", start["idle_rss_mib"] <= 76.3))
    for row in results["kit"]:
        rows.append(
            (
                f"comeback check {row['api']} (exit {row['exit']})",
                f"{row['seconds']:.1f} s",
                "<= 60 s",
                row["seconds"] <= 60 and row["exit"] == 0,
            )
        )
    return rows


def markdown(results: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark {results['date']}",
        "",
        f"Machine: {results['machine']}",
        "",
        "## Targets",
        "",
        "| measure | result | target | |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {what} | {measured} | {target} | {'pass' if met else 'MISS'} |"
        for what, measured, target, met in verdicts(results)
    ]
    lines += [
        "",
        "## Request/response (interleaved A B A B)",
        "",
        "| call | floor req/s | mock req/s | ratio | floor p50/p99 ms | mock p50/p99 ms | tool |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["request_response"]:
        floor = f"{row['floor_p50_ms']:.2f} / {row['floor_p99_ms']:.2f}"
        mock = f"{row['mock_p50_ms']:.2f} / {row['mock_p99_ms']:.2f}"
        ratio = f"{row['ratio']:.0%}"
        rates = f"{row['floor_rps']:.0f} | {row['mock_rps']:.0f} | {ratio}"
        lines.append(f"| {row['call']} | {rates} | {floor} | {mock} | {row['tool']} |")
    lines += [
        "",
        "## Streams (one mock process)",
        "",
        "| streams | events | events/s | lateness p50 / p99 / max ms | peak RSS MiB | ended early |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["streams"]:
        late = " / ".join(
            str(row.get(key, "-")) for key in ("lateness_p50_ms", "lateness_p99_ms", "lateness_max_ms")
        )
        counts = f"{row.get('events', 0)} | {row.get('events_per_second', 0)}"
        memory_and_ends = f"{row['rss_peak_mib']} | {row.get('ended_early', '-')}"
        lines.append(f"| {row['streams']} | {counts} | {late} | {memory_and_ends} |")
    lines += ["", "## Contract kit (default budget)", "", "| api | seconds | exit |", "|---|---|---|"]
    lines += [f"| {row['api']} | {row['seconds']} | {row['exit']} |" for row in results["kit"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--smoke", action="store_true", help="a tiny load, to see the harness run (figures meaningless)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    arguments = parser.parse_args(argv)
    smoke = arguments.smoke
    began = time.perf_counter()
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": (
            f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}, "
            f"wrk: {'yes' if wrk_available() else 'no'}"
        ),
        "smoke": smoke,
    }
    print("request/response ...", flush=True)
    results["request_response"] = request_response(seconds=1 if smoke else 5, connections=4 if smoke else 32)
    print("streams ...", flush=True)
    results["streams"] = streams([20] if smoke else [1000, 2000, 5000], speed=20.0 if smoke else 1.0)
    print("start-up and footprint ...", flush=True)
    results["start"] = start_and_footprint(1 if smoke else 5)
    print("contract kit ...", flush=True)
    results["kit"] = kit(
        ["chatzy"] if smoke else ["privategpt", "chatzy", "invent", "letta"],
        ["--phase", "lifecycle"] if smoke else [],
    )
    results["wall_seconds"] = round(time.perf_counter() - began, 1)
    arguments.out.mkdir(parents=True, exist_ok=True)
    stem = arguments.out / (results["date"] + ("-smoke" if smoke else ""))
    stem.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    stem.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    print(f"written: {stem}.md and .json ({results['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The benchmark harness: its parts on made-up data, and one tiny run end to end (figures not judged)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.contenders import contenders, write_wiremock_stubs
from bench.load import parse_wrk
from bench.run import main, markdown, median_of, verdicts
from bench.sse import ClientReport, StreamResult, lead_seconds, summarize, write_scenarios
from lifecycle.bundled import bundled_specs
from mockserver.catalog import load_catalog

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:1/v1/messages/async/bench-1/status
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.10ms  500.00us  20.00ms   90.00%
  Latency Distribution
     50%    1.95ms
     75%    2.20ms
     90%    2.60ms
     99%   12.50ms
  123456 requests in 10.00s, 40.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  12345.60
Transfer/sec:      4.00MB
"""


def test_wrk_output_is_read_with_every_error_counted() -> None:
    load = parse_wrk(WRK_OUTPUT)
    assert (load.requests_per_second, load.requests) == (12345.6, 123456)
    assert (load.p50_ms, load.p99_ms) == (1.95, 12.5)
    assert load.errors == 10  # 7 non-2xx + 2 read errors + 1 timeout


def test_wiremock_stubs_match_any_value_of_a_path_parameter(tmp_path: Path) -> None:
    bodies = {"GET /v1/messages/async/{message_id}/status": '{"a":1}', "POST /v1/messages/async": "{}"}
    stubs = json.loads(write_wiremock_stubs(tmp_path, bodies).read_text())["mappings"]
    get, post = stubs
    assert get["request"] == {"method": "GET", "urlPathPattern": "/v1/messages/async/[^/]+/status"}
    assert get["response"]["body"] == '{"a":1}'
    assert post["request"] == {"method": "POST", "urlPath": "/v1/messages/async"}


def test_the_five_contenders_are_named_and_missing_tools_are_said_why(tmp_path: Path) -> None:
    everyone = contenders({}, tmp_path, "/probe")
    assert [c.name for c in everyone] == ["comeback", "comeback-pure", "floor", "prism", "wiremock"]
    pure = next(c for c in everyone if c.name == "comeback-pure")
    assert {"--loop", "asyncio", "--http", "h11"} <= set(pure.command)
    floor = next(c for c in everyone if c.name == "floor")
    assert {"uvloop", "httptools"} <= set(floor.command)
    assert all(c.missing is None or "install" in c.missing for c in everyone)


def test_stream_scenarios_are_valid_and_pace_the_reply(tmp_path: Path) -> None:
    folder = write_scenarios(tmp_path, {"bench-10": (4.0, 2.0), "bench-20": (6.5, 2.0)})
    catalog = load_catalog(tuple(bundled_specs()), folder, apis=frozenset({"privategpt"}))
    scenario = catalog["privategpt"].scenarios["bench-20"]
    assert [step.state for step in scenario.steps] == ["pending", "processing", "completed"]
    assert scenario.steps[1].after == 6.5
    assert scenario.stream_plan.tokens_per_second == 2.0
    assert len((scenario.stream_plan.text or "").split()) == 40
    assert lead_seconds(10_000) > lead_seconds(1000) >= 4.0


def test_stream_summary_reports_lateness_and_whether_set_up_ended_before_delivery() -> None:
    def stream(lateness: list[float], began: float, opened: float, due: float) -> StreamResult:
        return StreamResult(lateness, len(lateness) + 5, True, began, opened, due, due + 10)

    reports = [
        ClientReport([stream([0.001] * 40, 100.0, 101.0, 105.0)], 0.5),
        ClientReport([stream([0.002] * 39 + [0.5], 100.5, 102.0, 105.5)], 0.25),
    ]
    summary = summarize(reports)
    assert summary["streams"] == 2
    assert summary["lateness_p50_ms"] == 2.0
    assert summary["lateness_max_ms"] == 500.0
    assert summary["open_margin_s"] == 3.0  # first word due at 105, last stream open at 102
    assert summary["set_up_s"] == 2.0
    assert summary["client_cpu_s"] == 0.75
    assert summary["events_per_second"] == round(90 / 10.5, 1)


def _results(prism: dict[str, Any] | None) -> dict[str, Any]:
    def figures(rps: float, p99: float = 5.0) -> dict[str, Any]:
        return median_of(
            [{"rps": rps, "p50_ms": 1.0, "p99_ms": p99, "errors": 0, "cpu_us": 50.0, "tool": "wrk"}]
        )

    get = {"comeback": figures(7200, 9.0), "floor": figures(10000)}
    post = {"comeback": figures(3000), "floor": figures(10000)}
    names = [("comeback", None), ("floor", None), ("prism", "not installed (bench/setup.sh)")]
    if prism is not None:
        get["prism"], post["prism"] = prism, prism
        names[-1] = ("prism", None)
    return {
        "date": "2026-01-01",
        "machine": "test",
        "mode": "full",
        "request_response": {
            "contenders": [{"name": n, "label": n.title(), "missing": m} for n, m in names],
            "bodies": {},
            "rounds": 3,
            "seconds": 10,
            "connections": 32,
            "calls": {"status GET": get, "create POST": post},
        },
        "streams": [
            {"streams": 5000, "lateness_p99_ms": 25.0, "rss_peak_mib": 150.0, "words_per_second_each": 2},
            {"streams": 10000, "lateness_p99_ms": 40.0, "rss_peak_mib": 290.0, "words_per_second_each": 2},
        ],
        "start": {"start_s": 0.8, "idle_rss_mib": 70.0, "runs": 5},
        "kit": [],
    }


def test_each_target_is_judged_met_missed_or_not_measured() -> None:
    judged = {what: (shown, met) for what, shown, _, met in verdicts(_results(prism=None))}
    assert judged["status GET: comeback / floor req/s"] == ("72%", True)
    assert judged["status GET: comeback / Prism req/s"] == ("-", None)
    assert judged["create POST: comeback / floor req/s"] == ("30%", False)
    assert judged["status GET: p99 at 32 connections"] == ("9.0 ms", True)
    assert judged["5000 streams: p99 lateness"] == ("25.0 ms", False)
    assert judged["10000 streams: p99 lateness"] == ("40.0 ms", True)
    assert judged["10000 streams: peak RSS"] == ("304 MB", False)  # 290 MiB is 304 MB
    assert judged["idle RSS (every bundled API)"] == ("73 MB", True)
    with_prism = {what: met for what, _, _, met in verdicts(_results(prism=median_of_rps(1700)))}
    assert with_prism["status GET: comeback / Prism req/s"] is True


def median_of_rps(rps: float) -> dict[str, Any]:
    return median_of([{"rps": rps, "p50_ms": 1.0, "p99_ms": 9.0, "errors": 1, "cpu_us": None, "tool": "wrk"}])


def test_the_report_has_a_row_per_server_and_says_which_were_not_installed() -> None:
    text = markdown(_results(prism=None))
    assert "| Comeback | 7,200 | 1.00 / 9.0 | 3,000 |" in text
    assert "| Prism | not installed (bench/setup.sh) |" in text
    assert "| 10,000 | 2 |" in text
    assert "MISSED" in text
    assert "met" in text


def test_the_bench_harness_runs_end_to_end_and_writes_its_results(tmp_path: Path) -> None:
    # every part but the stores' (tests/test_bench_stores.py; it starts six servers and a Redis)
    parts = "requests,streams,start,kit"
    assert main(["--smoke", "--servers", "comeback,floor", "--parts", parts, "--out", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("*-smoke-*.json")
    data = json.loads(result.read_text(encoding="utf-8"))
    calls = data["request_response"]["calls"]
    assert set(calls) == {"status GET", "create POST"}
    for call in calls.values():
        assert set(call) == {"comeback", "floor"}
        assert all(figures["rps"] > 0 and figures["errors"] == 0 for figures in call.values())
        assert call["comeback"]["cpu_us"] > 0
    (streams,) = data["streams"]
    assert streams["streams"] == 20
    assert streams["ended_early"] == 0
    assert streams["events"] == 20 * 45  # opening 2 + 40 words + closing 3
    assert data["start"]["start_s"] > 0
    assert data["kit"][0]["exit"] == 0
    assert "## Targets" in result.with_suffix(".md").read_text(encoding="utf-8")

"""The stores part of the bench: a failure is recorded with its reason (the results file is still
written), and the 2-worker figures are shown as a share of the 2-worker floor."""

from __future__ import annotations

import os
from typing import Any

from bench.contention import (
    Sample,
    contention,
    machine_cores,
    parse_sockets,
    per_worker,
    run_queue_wait,
    take,
    wait_shares,
)
from bench.run import _part, markdown
from bench.sse import ClientReport, StreamResult, summarize
from bench.stores import _delivery_cpu, floor_shares, reachable, verdicts
from bench.stores import markdown as stores_markdown


def figures(rps: float) -> dict[str, Any]:
    return {"rps": rps, "p99_ms": 2.0, "cpu_us": 100.0, "redis_cpu_us": None, "round_trips": 0.0, "errors": 0}


def part(**streams: Any) -> dict[str, Any]:
    rows = [
        {"server": "comeback, memory store", "workers": 1, "status GET": figures(10000)},
        {"server": "comeback, redis store", "workers": 1, "failed": "RuntimeError: did not answer"},
        {"server": "comeback, redis store", "workers": 2, "status GET": figures(15000)},
        {"server": "floor: bare Starlette", "workers": 1, "status GET": figures(20000)},
        {"server": "floor: bare Starlette", "workers": 2, "status GET": figures(21000)},
    ]
    runs = [streams] if streams else []
    return {"rounds": 1, "seconds": 1, "connections": 4, "rows": rows, "streams": runs}


def test_failed_stream_set_ups_are_counted_with_their_reason_and_the_others_measured() -> None:
    good = StreamResult([0.001] * 40, 45, True, 100.0, 101.0, 105.0, 115.0)
    bad = StreamResult(began_at=100.0, failure="POST /v1/messages/async: HTTP/1.1 503 Service Unavailable")
    summary = summarize([ClientReport([good, bad], 0.1)])
    assert summary["streams"] == 2
    assert summary["failed"] == 1
    assert "503" in summary["failure"]
    assert summary["lateness_p99_ms"] == 1.0  # from the stream that was set up


def test_a_failed_setup_or_stream_run_shows_in_the_table_and_misses_its_target() -> None:
    measured = part(streams=5000, failed_run="RuntimeError: exited with 1", rss_peak_mib_per_worker=0.0)
    text = "\n".join(stores_markdown(measured))
    assert "| comeback, redis store | 1 | failed: RuntimeError: did not answer |" in text
    assert "RuntimeError: exited with 1" in text
    lateness = [row for row in verdicts(measured) if "lateness" in row[0]]
    assert lateness == [
        (
            "5000 streams over 2 workers (Redis): p99 lateness",
            "failed: RuntimeError: exited with 1",
            "<= 20 ms",
            False,
        )
    ]


def test_the_two_worker_figures_are_a_share_of_the_two_worker_floor() -> None:
    measured = part()
    assert floor_shares(measured)[("comeback, redis store", 2)]["status GET"] == 15000 / 21000
    note = reachable(measured)
    assert note is not None
    assert "needs the Redis store at 2 workers to reach 81% of the 2-worker floor" in note  # 1.7 * 10k / 21k
    table = "\n".join(stores_markdown(measured))
    assert "| comeback, redis store | 2 | 15,000 | 2.0 | - | - | 71% / - |" in table


def test_a_part_that_fails_is_recorded_and_the_results_still_render() -> None:
    results: dict[str, Any] = {"date": "2026-12-07", "machine": "m", "mode": "smoke"}

    def broken() -> Any:
        raise RuntimeError("redis-server did not answer PING")

    _part(results, "stores", broken)
    assert results["failed"] == {"stores": "RuntimeError: redis-server did not answer PING"}
    assert "Part stores FAILED: RuntimeError: redis-server did not answer PING" in markdown(results)


def test_the_server_cpu_while_words_were_due_is_reported_per_event() -> None:

    used = [(99.0, 0.0), (100.0, 1.0), (102.0, 4.0), (104.0, 7.0), (106.0, 20.0)]
    # window 100..104 s, 4,000 events in it: 6 CPU s over 4 s = 1.5 cores, 1,500 µs per event
    assert _delivery_cpu(used, (100.0, 104.0), 4000) == {
        "server_cores_busy": 1.5,
        "server_cpu_us_per_event": 1500.0,
    }
    assert _delivery_cpu(used, None, 4000) == {}


def test_the_socket_table_tells_which_worker_accepted_each_stream() -> None:

    text = (
        '0 0 127.0.0.1:8000 127.0.0.1:51000 users:(("python",pid=401,fd=12))\n'
        '0 0 127.0.0.1:8000 127.0.0.1:51001 users:(("python",pid=402,fd=30))\n'
        "0 0 127.0.0.1:8000 127.0.0.1:51002\n"  # a socket whose process ss may not show
    )
    assert parse_sockets(text) == {51000: 401, 51001: 402}


def test_lateness_is_split_per_worker_most_connections_first() -> None:

    streams = [(1, [0.001] * 10), (2, [0.5] * 10), (3, [0.4] * 10), (4, [0.001])]
    owners = {1: 401, 2: 402, 3: 402}  # port 4: its worker unknown, left out
    assert per_worker(streams, owners) == [
        {"connections": 2, "lateness_p99_ms": 500.0},
        {"connections": 1, "lateness_p99_ms": 1.0},
    ]


def test_run_queue_waits_and_machine_cores_are_read_over_the_delivery_window() -> None:

    samples = [
        Sample(99.0, {401: 0.0, 402: 0.0}, 0.0, 0.0),
        Sample(100.0, {401: 1.0, 402: 0.5}, 10.0, 20.0),
        Sample(104.0, {401: 3.0, 402: 0.5}, 18.0, 28.0),  # 8 core-s in 4 s; worker 401 waited 2 s
        Sample(106.0, {401: 9.0, 402: 9.0}, 30.0, 32.0),
    ]
    assert contention(samples, (100.0, 104.0)) == {"machine_cores_busy": 2.0, "worker_wait_share": 0.5}
    assert contention(samples, None) == {}
    assert wait_shares(samples, (100.0, 104.0)) == {401: 0.5, 402: 0.0}
    late = per_worker([(1, [0.3]), (2, [0.001])], {1: 401, 2: 402}, {401: 0.5, 402: 0.0})
    assert late[0] == {"connections": 1, "lateness_p99_ms": 300.0, "wait_share": 0.5}


def test_this_process_run_queue_wait_and_the_machine_cores_are_readable() -> None:

    busy, total = machine_cores()
    assert 0 < busy <= total
    assert run_queue_wait("self") >= 0.0
    assert list(take([os.getpid(), 0]).waits) == [os.getpid()]  # pid 0 has no /proc entry: left out


def test_the_stream_table_shows_contention_and_the_split_per_worker() -> None:
    row = {
        "streams": 5000,
        "words_per_second_each": 2.0,
        "lateness_p50_ms": 8.5,
        "lateness_p99_ms": 453.0,
        "lateness_max_ms": 532.0,
        "rss_peak_mib_per_worker": 137.0,
        "machine_cores_busy": 2.0,
        "worker_wait_share": 0.61,
        "client_wait_share": 0.2,
        "per_worker": [
            {"connections": 3022, "lateness_p99_ms": 1316.8, "wait_share": 0.61},
            {"connections": 1978, "lateness_p99_ms": 375.0},
        ],
    }
    table = "\n".join(
        stores_markdown({"connections": 8, "rounds": 1, "seconds": 1.0, "rows": [], "streams": [row]})
    )
    assert "| 2.0 | 0.61 / 0.2 | 3,022 (1316.8, waited 61%), 1,978 (375) |" in table


def test_a_client_report_gives_its_share_of_time_waiting_for_a_core() -> None:
    stream = StreamResult([0.001] * 40, 45, True, 100.0, 101.0, 105.0, 125.0)
    summary = summarize([ClientReport([stream], 2.0, 5.0, 20.0), ClientReport([stream], 2.0, 1.0, 20.0)])
    assert summary["client_wait_share"] == 0.25


def test_a_lateness_miss_says_when_the_workers_waited_for_cores() -> None:
    contended = {
        "streams": 5000,
        "lateness_p99_ms": 318.6,
        "worker_wait_share": 0.43,
        "machine_cores_busy": 2.0,
    }
    quiet = {"streams": 10000, "lateness_p99_ms": 12.0, "worker_wait_share": 0.02, "machine_cores_busy": 1.1}
    rows = {what: (got, met) for what, got, _, met in verdicts(part() | {"streams": [contended, quiet]})}
    got, met = rows["5000 streams over 2 workers (Redis): p99 lateness"]
    assert got == "318.6 ms (a worker waited 43% of the delivery for a core; machine cores busy 2.0)"
    assert met is False  # the note explains a miss; it does not excuse it
    assert rows["10000 streams over 2 workers (Redis): p99 lateness"] == ("12.0 ms", True)

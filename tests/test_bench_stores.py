"""bench --parts stores: its verdicts and table on made-up figures, and the process tree it measures.
(The part itself starts six servers and a Redis; it was run once with --smoke, as the lead's full
bench runs it: not in the suite.)"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from bench.run import PARTS, markdown, verdicts
from bench.stores import markdown as stores_markdown
from bench.stores import tree
from bench.stores import verdicts as stores_verdicts


def figures(rps: float) -> dict[str, Any]:
    return {"rps": rps, "p99_ms": 3.0, "cpu_us": 80.0, "redis_cpu_us": 20.0, "errors": 0, "tool": "wrk"}


PART: dict[str, Any] = {
    "rounds": 3,
    "seconds": 10,
    "connections": 32,
    "rows": [
        {
            "server": "comeback, memory store",
            "workers": 1,
            "status GET": figures(7000),
            "create POST": figures(3000),
        },
        {
            "server": "comeback, redis store",
            "workers": 2,
            "status GET": figures(11000),
            "create POST": figures(4000),
        },
        {"server": "comeback, memory store", "workers": 2, "create POST": figures(5000)},
        {
            "server": "floor: bare Starlette",
            "workers": 2,
            "status GET": figures(20000),
            "create POST": figures(20000),
        },
    ],
    "streams": [
        {
            "streams": 5000,
            "lateness_p99_ms": 12.0,
            "rss_peak_mib_per_worker": 120.0,
            "words_per_second_each": 2,
        },
        {
            "streams": 10000,
            "lateness_p99_ms": 80.0,
            "rss_peak_mib_per_worker": 290.0,
            "words_per_second_each": 2,
        },
    ],
}


def test_the_issue_targets_are_judged() -> None:
    judged = {what: (shown, met) for what, shown, _, met in stores_verdicts(PART)}
    assert judged["status GET: Redis store at 2 workers / memory store at 1"] == ("1.57x", False)
    assert judged["5000 streams over 2 workers (Redis): p99 lateness"] == ("12.0 ms", True)
    assert judged["10000 streams over 2 workers (Redis): p99 lateness"] == ("80.0 ms", False)
    assert judged["10000 streams over 2 workers: peak RSS per worker"] == ("304 MB", False)
    # nothing measured: the GET target is still listed, as not measured (never dropped, never met)
    nothing: dict[str, Any] = {"rows": [], "streams": []}
    assert stores_verdicts(nothing) == [
        ("status GET: Redis store at 2 workers / memory store at 1", "-", ">= 1.7x", None)
    ]


def test_the_table_has_a_row_per_setup_and_no_read_where_none_was_measured() -> None:
    text = "\n".join(stores_markdown(PART))
    assert "| comeback, redis store | 2 | 11,000 | 3.0 | 4,000 |" in text
    assert "| comeback, memory store | 2 | - | - | 5,000 |" in text
    assert "| 10,000 | 2 | " in text


def test_the_part_is_one_of_the_bench_parts_and_reaches_the_report() -> None:
    assert "stores" in PARTS
    results = {"date": "d", "machine": "m", "mode": "full", "stores": PART}
    assert "## Stores and workers" in markdown(results)
    assert any(what.startswith("status GET: Redis store") for what, *_ in verdicts(results))


def test_the_process_tree_includes_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert {os.getpid(), child.pid} <= set(tree(os.getpid()))
    finally:
        child.kill()
        child.wait()

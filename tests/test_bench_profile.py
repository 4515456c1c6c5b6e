"""bench/profile.py's layer rules: each sampled stack lands in the layer of its innermost known frame."""

from __future__ import annotations

import re
import subprocess
import sys

from bench.profile import OTHER, budget, layer_of
from tests.conftest import REPO

UVICORN = "HTTP parsing and writing (uvicorn, httptools)"
OUTER = "run (uvloop/__init__.py:1);data_received (uvicorn/protocols/http/httptools_impl.py:2)"


def test_the_innermost_known_frame_decides_the_layer() -> None:
    assert layer_of(OUTER.split(";")) == UVICORN
    inside = [*OUTER.split(";"), "Guard.__call__ (mockserver/guard.py:3)", "record (mockserver/journal.py:9)"]
    assert layer_of(inside) == "journal"
    assert layer_of([*inside[:-1], "Operations.match (mockserver/routing.py:5)"]) == "routing"
    assert (
        layer_of([*inside[:-1], "LeanRoutes.match (mockserver/leanpath.py:5)"]) == "routing"
    )  # before issue 20
    assert layer_of([*inside[:-1], "FaultGate.admit (mockserver/fault_gate.py:5)"]) == "endpoint"
    assert layer_of(["mystery (somewhere.py:1)"]) == OTHER


def test_shares_count_the_main_thread_only() -> None:
    raw = "\n".join(
        [
            f"{OUTER} 3",
            f"{OUTER};handle (mockserver/app.py:200);allows (mockserver/auth.py:40) 1",
            "Thread._bootstrap (threading.py:1);WorkerThread.run (anyio/_backends/_asyncio.py:2) 50",
        ]
    )
    shares, samples = budget(raw)
    assert samples == 4
    assert shares == {UVICORN: 0.75, "auth": 0.25}


def test_the_readme_profile_command_prints_a_budget_table() -> None:
    """``python -m bench.profile`` as the README shows it (shorter): a table of layers in µs."""
    command = [sys.executable, "-m", "bench.profile", "--call", "GET", "--seconds", "3", "--rate", "200"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "µs CPU per request" in result.stdout
    rows = re.findall(r"^\| (.+?) \| (\d+)% \| ([\d.]+) \|$", result.stdout, re.M)
    layers = {name for name, _, _ in rows}
    assert {UVICORN, "engine", "endpoint"} <= layers, result.stdout
    assert sum(int(share) for _, share, _ in rows) >= 95  # rounded shares of every sample

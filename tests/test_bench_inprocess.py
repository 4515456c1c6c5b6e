"""``python -m bench.inprocess``: the mock's own cost per request, measured without a server."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench.profile import layer_of

ROOT = Path(__file__).resolve().parent.parent


def _run(*options: str) -> str:
    command = [sys.executable, "-m", "bench.inprocess", "--requests", "250", *options]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_it_counts_the_calls_of_a_status_read_and_times_a_create() -> None:
    calls = re.fullmatch(r"GET: ([\d.]+) function calls per request\n", _run("--call", "GET", "--calls"))
    assert calls is not None
    assert 50 < float(calls[1]) < 1_000  # a status read runs through every layer of the mock
    timed = _run("--call", "POST")
    pattern = r"POST: [\d.]+ µs CPU per request \(min of 1 batches of 250\), median [\d.]+\n"
    assert re.fullmatch(pattern, timed)
    assert _run("--only-load") == ""  # for an instruction counter: nothing printed


def test_the_profile_puts_the_replay_stage_and_the_store_in_their_layers() -> None:
    """``bench.profile``'s layers know the modules the hot path gained (the replay stage, the
    state seam), so their time is not counted as 'other'."""
    outer = ["run (uvloop/__init__.py:1)", "data_received (uvicorn/protocols/http/httptools_impl.py:2)"]
    assert layer_of([*outer, "concerns (mockserver/replay.py:5)"]) == "endpoint"
    assert layer_of([*outer, "MemoryStore.held (mockserver/state/memory.py:5)"]) == "engine"
    assert layer_of([*outer, "Draws.uuid (mockserver/draws.py:5)"]) == "engine"

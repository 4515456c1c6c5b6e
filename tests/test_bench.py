"""The benchmark harness runs (with a tiny load); its figures are not judged here."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import main


def test_the_bench_harness_runs_and_writes_its_results(tmp_path: Path) -> None:
    assert main(["--smoke", "--out", str(tmp_path)]) == 0
    (result,) = tmp_path.glob("*-smoke.json")
    data = json.loads(result.read_text(encoding="utf-8"))
    assert {row["call"] for row in data["request_response"]} >= {"PrivateGPT status GET", "Letta run GET"}
    assert all(row["mock_rps"] > 0 and row["floor_rps"] > 0 for row in data["request_response"])
    assert data["streams"][0]["streams"] == 20
    assert data["streams"][0]["ended_early"] == 0
    assert data["start"]["start_s"] > 0
    assert data["kit"][0]["exit"] == 0
    assert "## Targets" in result.with_suffix(".md").read_text(encoding="utf-8")

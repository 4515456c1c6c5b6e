"""Budgets of the kit in tests: what each assertion needs, and a check that it was enough."""

from __future__ import annotations

import json
from pathlib import Path

from contracts.probes import Options

# The mock runs 20 times faster, so the kit's real-time margins shrink as much: polls at most 0.5 s
# (10 mock seconds) apart, each resource watched for at least 1 s (20 mock seconds) and 0.5 s past
# its terminal read, rather than 5 s (100 mock seconds, 4 times the longest scenario) and 2 s
AT_SPEED = Options(resources=1, deadline=10, window=1.0, settle=0.5, max_poll=0.5)

# Schemathesis repeats fuzzing until the budget is spent; one round of every phase and check of every
# operation (5 examples each) takes a few seconds, and ``unreached_conformance`` fails the test if a
# budget this short ever left one out (the default 25 s only added more rounds of the same)
CONFORMANCE_SECONDS = 8


def unreached_conformance(report_json: Path) -> list[tuple[str, str]]:
    """The conformance cases of a ``--report-json`` file that no generated request reached."""
    cases = json.loads(report_json.read_text(encoding="utf-8"))["cases"]
    return [
        (case["check"], case["unit"])
        for case in cases
        if case["check"].startswith("conformance.") and case["outcome"] == "not observed"
    ]

"""One contract run: load the spec, probe the target phase by phase, report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from contracts.conformance import conformance
from contracts.live_probes import LiveProbes
from contracts.phases import PHASES
from contracts.probes import Options
from contracts.report import Report
from contracts.requests import Requests
from contracts.target import Target
from lifecycle.spec import ApiSpec, load_spec


def default_tolerances(spec: ApiSpec) -> frozenset[str]:
    """The deviations the spec's notes tolerate by default."""
    return frozenset(d.name for d in spec.lifecycle.deviations if d.tolerated)


def check(
    spec_path: Path,
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    phases: Iterable[str] = PHASES,
    options: Options | None = None,
    tolerate: Iterable[str] = (),
    no_tolerate: Iterable[str] = (),
    examples: int = 10,
    seed: int = 0,
    max_time: float = 120.0,
) -> Report:
    """Check the server at ``base_url`` against ``spec_path``; raises Unreachable or UsageError."""
    spec = load_spec(spec_path.read_text(encoding="utf-8"), str(spec_path), validate_openapi=False)
    tolerances = (default_tolerances(spec) | frozenset(tolerate)) - frozenset(no_tolerate)
    chosen = replace(options or Options(), tolerate=tolerances)
    report = Report(spec.name)
    target = Target(base_url, dict(headers or {}))
    try:
        target.ensure_reachable()
        probes = LiveProbes(Requests(spec, params), target, report, chosen)
        for phase in phases:
            if phase == "conformance":
                conformance(
                    spec_path,
                    base_url,
                    spec.lifecycle,
                    report,
                    headers=dict(headers or {}),
                    tolerate=tolerances,
                    examples=examples,
                    seed=seed,
                    time_budget=max_time,
                )
            else:
                getattr(probes, f"{phase}_probe")()
    finally:
        target.close()
    return report

"""Done-when: every bundled scenario that ends, served by the mock and recorded through the proxy
(a client polls it and reads its stream), then replayed by a second mock, shows the same states,
the same field values and the same stream text; the recorded times match the scenario's.

Both mocks run on a manual clock and the recorder reads the first one's clock (time is an
argument of the recorder, as of the core): scenarios of 30 s take no waiting, and what is
recorded does not depend on how busy the machine is. ``test_cli.py`` records on real time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from lifecycle.bundled import bundled_scenarios
from lifecycle.durations import parse_duration
from lifecycle.scenario import Scenario, load_scenario
from mockserver.app import create_app as mock_app
from mockserver.servers import serve_in_thread
from tests.mockserver.conftest import settings
from tests.recorder.conftest import record_on_manual_clock, scenarios_with, spec_of
from tests.recorder.walks import Walk, replay

APIS = ["privategpt", "chatzy", "invent", "letta"]


def terminating(api: str) -> list[Scenario]:
    """Bundled scenarios of ``api`` whose last step is a terminal state."""
    lifecycle = spec_of(api).lifecycle
    found = []
    for path in sorted((bundled_scenarios() / api).glob("*.yaml")):
        scenario = load_scenario(path.read_text(encoding="utf-8"), str(path), lifecycle, api=api)
        if lifecycle.states[scenario.steps[-1].state].terminal:
            found.append(scenario)
    return found


def close(recorded: float, expected: float, *, failed_reads: bool = False) -> bool:
    """Within 0.1 s plus 10%: a state is polled every 0.1 s plus a tenth of its age so far. Reads
    that fail (a scenario's 503s) hide the state a while longer: 0.35 s then."""
    return abs(recorded - expected) <= (0.35 if failed_reads else 0.1) + 0.1 * expected


@pytest.mark.parametrize("api", APIS)
def test_a_recorded_scenario_replays_like_the_original(api: str, tmp_path: Path) -> None:
    lifecycle = spec_of(api).lifecycle
    originals = terminating(api)
    assert len(originals) >= 6
    out = tmp_path / "recorded"
    walks, flushed = record_on_manual_clock(api, [s.name for s in originals], out)
    assert flushed["rejected"] == []
    file_of = {rid: Path(entry["file"]) for entry in flushed["written"] for rid in entry["resources"]}
    assert set(file_of) == {w.resource_id for w in walks}  # identical timelines share a file
    recorded = {
        w.resource_id: yaml.safe_load(file_of[w.resource_id].read_text(encoding="utf-8")) for w in walks
    }

    with serve_in_thread(
        mock_app(settings(scenario_dir=scenarios_with(out, tmp_path / "scenarios")))
    ) as mock:

        async def replay_all() -> list[Walk]:
            async with httpx.AsyncClient(base_url=mock, timeout=30) as client:
                found = []
                for original in walks:  # one at a time: each moves the shared manual clock
                    data = recorded[original.resource_id]
                    afters = [parse_duration(step["after"]) for step in data["steps"][1:]]
                    name = file_of[original.resource_id].stem
                    try:
                        found.append(await replay(client, lifecycle, api, name, afters))
                    except TimeoutError:
                        raise AssertionError(data) from None
                return found

        replays = asyncio.run(replay_all())

    for scenario, original, replayed in zip(originals, walks, replays, strict=True):
        data = recorded[original.resource_id]
        where = f"{api}/{scenario.name} recorded as {file_of[original.resource_id].name}"
        planned = [step.state for step in scenario.steps]
        assert [step["state"] for step in data["steps"]] == planned, where
        assert original.states == planned, where
        assert replayed.states == planned, where
        assert replayed.values == original.values, where
        for step, plan in zip(data["steps"], scenario.steps, strict=True):
            assert step.get("set", {}) == dict(plan.set), where
        stream_plan = scenario.stream_plan
        written: dict[str, Any] = {}
        for step in data["steps"]:
            written.update(step.get("stream", {}))
        assert written.get("end") == stream_plan.end, where  # a non-default ending signal is kept
        assert written.get("call_again_after") == stream_plan.call_again_after, where
        assert replayed.text == original.text, where
        assert replayed.end == original.end, where
        if lifecycle.stream is not None:
            assert original.text or original.end, where  # the client did read a stream
        if all(step.after_reads is None for step in scenario.steps):
            for step, plan in zip(data["steps"][1:], scenario.steps[1:], strict=True):
                failing = plan.fault is not None and plan.fault.status is not None
                recorded_after = parse_duration(step["after"])
                assert close(recorded_after, plan.after or 0.0, failed_reads=failing), (
                    where,
                    step,
                    plan.after,
                )

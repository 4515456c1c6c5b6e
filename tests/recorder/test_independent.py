"""Recording a server that is not the mock (``independent.py``), on real time with the recorder's
own polling: an illegal transition and a value outside the spec are logged when they happen and
marked in the written scenario, credentials never reach the file, and the mock replays it."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
import yaml

from lifecycle.scenario import load_scenario
from mockserver.app import create_app as mock_app
from mockserver.servers import serve_in_thread
from tests.mockserver.conftest import settings
from tests.recorder import independent
from tests.recorder.conftest import recording_proxy, scenarios_with, spec_of
from tests.recorder.walks import replay

SECRET = "Bearer sk-live-0123456789abcdef"
BODY = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "regress"}]}


def test_an_independent_server_is_recorded_with_its_contract_breaks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = spec_of("privategpt")
    out = tmp_path / "recorded"
    caplog.set_level(logging.INFO, logger="comeback.record")
    with (
        serve_in_thread(independent.create_app()) as target,
        recording_proxy(spec, target, out, poll=0.05) as proxy,
    ):

        async def client() -> tuple[str, str, str, dict[str, object]]:
            headers = {"Authorization": SECRET}
            async with httpx.AsyncClient(base_url=proxy, headers=headers, timeout=10) as http:
                regress = (await http.post("/v1/messages/async", json=BODY)).json()["message_id"]
                leaky_body = {**BODY, "messages": [{"role": "user", "content": "leaky"}]}
                leaky = (await http.post("/v1/messages/async", json=leaky_body)).json()["message_id"]
                reply = ""
                async with http.stream("GET", f"/v1/messages/async/{regress}/stream") as stream:
                    async for chunk in stream.aiter_text():
                        reply += chunk
                # this client reads the status once, late: the recorder's own polling saw the rest
                await asyncio.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
                final = (await http.get(f"/v1/messages/async/{regress}/status")).json()["status"]
                flushed = (await http.post("/__record/flush", json={})).json()
            return regress, leaky, f"{final}|{reply}", flushed

        started = time.monotonic()
        regress, leaky, seen, flushed = asyncio.run(client())
    assert seen.startswith("completed|")
    files = {rid: Path(entry["file"]) for entry in flushed["written"] for rid in entry["resources"]}  # type: ignore[attr-defined]
    assert set(files) == {regress, leaky}

    # the illegal transition: reported when it happened, and marked in the file
    reported = [r.getMessage() for r in caplog.records if "processing -> pending" in r.getMessage()]
    assert reported
    assert "off contract" in reported[0]
    text = files[regress].read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert [step["state"] for step in data["steps"]] == [
        "pending",
        "processing",
        "pending",
        "processing",
        "completed",
    ]
    assert data["steps"][2]["off_contract"] == [
        {
            "kind": "transition",
            "message": "transition processing -> pending is not allowed "
            "(expected one of ['cancelled', 'completed', 'error', 'failed'])",
        }
    ]
    assert "# OFF CONTRACT: transition processing -> pending" in text
    assert data["steps"][1]["stream"]["text"].startswith("Hello from an independent server")
    for step, expected in zip(data["steps"][1:], [0.3, 0.3, 0.3, 0.3], strict=True):
        seconds = float(step["after"].rstrip("s"))
        assert abs(seconds - expected) <= 0.15, data

    # the value outside the spec, with the credential masked
    leaky_text = files[leaky].read_text(encoding="utf-8")
    assert "sk-live" not in leaky_text
    assert "sk-live" not in text
    completed = yaml.safe_load(leaky_text)["steps"][-1]
    assert completed["set"] == {"error_message": "quota exceeded for key ***"}
    assert completed["off_contract"][0]["kind"] == "value"
    assert completed["off_contract"][0]["field"] == "error_message"

    # both files load as the mock loads scenarios, and the mock replays the illegal walk
    for path in files.values():
        load_scenario(path.read_text(encoding="utf-8"), str(path), spec.lifecycle, api="privategpt")
    scenarios = scenarios_with(out, tmp_path / "scenarios")
    with serve_in_thread(mock_app(settings(scenario_dir=scenarios))) as mock:

        async def walk_it() -> list[str]:
            async with httpx.AsyncClient(base_url=mock, timeout=10) as http:
                afters = [float(step["after"].rstrip("s")) for step in data["steps"][1:]]
                walked = await replay(http, spec.lifecycle, "privategpt", files[regress].stem, afters)
            return walked.states

        assert asyncio.run(walk_it()) == ["pending", "processing", "pending", "processing", "completed"]

"""Done-when of issue 23: a replay is as defective as the original.

An independent server with a real server's defects (``tests/servers/``: Letta 0.16.8's DELETE 500
and reset connection, tz-naive ``completed_at``, cancelled runs that turn ``completed`` later, the
stream's 503 "Background streaming requires Redis"; PrivateGPT's DELETE 500, the same late flip, a
stream without its terminal signal) is recorded with ``comeback record --default`` while a client
drives a session (``sessions.py``), replayed with ``comeback serve --scenarios``, and
``comeback check`` runs against both: every case has the same outcome, and the findings (check,
unit, excusing deviation) are the same set.

What the kit does that the recording never saw, so it is left out (its phases are not run here):
the conformance phase (generated bodies, unknown and malformed ids, paging and limits, auth probes,
whose answers come from the mock's own spec-driven handling), and callbacks (the session asks for
none). Cancelling a finished resource (``cancel.when_terminal``) was not recorded either: the mock
answers it as the spec says, and so did the server, so its case is compared all the same.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from comeback.cli import main
from lifecycle.bundled import bundled_specs
from tests.mockserver.conftest import AGENT
from tests.recorder.conftest import process, record_process
from tests.recorder.sessions import LETTA, PRIVATEGPT, Paths, Seen, session
from tests.servers.base import Defects, Handler, serve
from tests.servers.letta import Letta
from tests.servers.privategpt import PrivateGpt

PHASES = ("lifecycle", "cancel", "delete", "stream")
LETTA_DEFECTS = Defects(
    delete_500=True,
    reset_after_500=True,
    naive_completed_at=True,
    cancel_flips_after=1.0,
    stream_status=503,
    work_seconds=1.0,
)
PRIVATEGPT_DEFECTS = Defects(delete_500=True, cancel_flips_after=1.0, drop_stream=True, work_seconds=1.0)
REDIS = "Background streaming requires Redis to be running."


def spec(api: str) -> Path:
    return next(path for path in bundled_specs() if path.stem == api)


def check(api: str, url: str, report: Path, phases: tuple[str, ...]) -> dict[str, Any]:
    """``comeback check`` with a small budget (one resource, 8 s deadline); its JSON report."""
    arguments = ["check", str(spec(api)), "--base-url", url, "--resources", "1", "--deadline", "8", "--quiet"]
    if api == "letta":
        arguments += ["--param", f"agent_id={AGENT}"]
    for phase in phases:
        arguments += ["--phase", phase]
    main([*arguments, "--report-json", str(report)])
    data: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return data


def verdicts(report: dict[str, Any]) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, Any]]]:
    """(every case's check, unit and outcome; every finding's check, unit and excusing deviation)."""
    cases = {(case["check"], case["unit"], case["outcome"]) for case in report["cases"]}
    found = {(finding["check"], finding["unit"], finding["tolerated_by"]) for finding in report["findings"]}
    return cases, found


def both(
    api: str, url: str, folder: Path, name: str
) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, Any]], dict[str, Any]]:
    """All four phases, then the stream phase alone (the first run's stream phase meets the cut
    connection a DELETE 500 leaves behind, so it never sees the stream's own answer)."""
    whole = check(api, url, folder / f"{name}.json", PHASES)
    alone = check(api, url, folder / f"{name}-stream.json", ("stream",))
    cases, found = verdicts(whole)
    stream_cases, stream_found = verdicts(alone)
    cases |= {("alone:" + c, u, o) for c, u, o in stream_cases}
    found |= {("alone:" + c, u, t) for c, u, t in stream_found}
    return cases, found, whole


def cancelled_walks(seen: Seen) -> list[list[str]]:
    return [states[states.index("cancelled") :] for states in seen.states.values() if "cancelled" in states]


def statuses(seen: Seen) -> dict[str, int]:
    """The answers to the streams and to the first cancel and delete (each right after its create).
    The second pair waits for a working state, which a loaded machine may never have seen while
    recording: the replay then has none either, and acts on a finished resource."""
    kept = {key: status for key, status in seen.answers.items() if not key.endswith(" 2")}
    return {("stream" if key.startswith("stream ") else key): status for key, status in kept.items()}


CASES: dict[str, tuple[type[Handler], Defects, Paths]] = {
    "letta": (Letta, LETTA_DEFECTS, LETTA),
    "privategpt": (PrivateGpt, PRIVATEGPT_DEFECTS, PRIVATEGPT),
}


@pytest.mark.parametrize("api", sorted(CASES))
def test_a_replay_fails_the_same_checks_as_the_recorded_server(api: str, tmp_path: Path) -> None:
    handler, defects, paths = CASES[api]
    out = tmp_path / "recorded"
    with serve(handler, defects) as server:
        with record_process(spec(api), server, out, "--default") as proxy:
            recorded = asyncio.run(session(proxy, paths))
        original, original_found, report = both(api, server, tmp_path, "server")
    files = sorted(out.glob(f"{api}/*.yaml"))
    assert files, "nothing was recorded"
    serve_command = [sys.executable, "-m", "comeback.cli", "serve", "--port", "{port}", "--no-auth"]
    with process(
        [*serve_command, "--scenarios", str(out), "--log-level", "warning"], "/__mock/clock"
    ) as mock:
        replayed = asyncio.run(session(mock, paths))
        replay, replay_found, _ = both(api, mock, tmp_path, "replay")
        extra = asyncio.run(_looks(api, mock))

    assert original_found, report  # the server's defects were found at all
    assert replay_found == original_found
    assert replay == original
    # the client saw the same: what its cancels and deletes were answered, and the cancelled
    # resources turning completed later
    written = "\n".join(path.read_text(encoding="utf-8") for path in files)
    assert statuses(replayed) == statuses(recorded), (recorded, replayed, written)
    assert cancelled_walks(recorded)[:1] == cancelled_walks(replayed)[:1] == [["cancelled", "completed"]]
    assert all(walk == ["cancelled", "completed"] for walk in cancelled_walks(replayed))
    if api == "letta":
        assert "connection: drop" in written  # the cut after the DELETE 500, recorded as such
        assert recorded.cuts >= 1
        assert replayed.cuts >= 1  # the DELETE 500's (and the 503's) cut connections, replayed
        assert extra["stream"] == (503, {"detail": REDIS})
        assert not extra["completed_at"].endswith("Z")  # tz-naive, as recorded
        assert "+" not in extra["completed_at"][19:]


async def _looks(api: str, base_url: str) -> dict[str, Any]:
    """What a client reads on the replay, beyond the kit's verdicts."""
    if api != "letta":
        return {}
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        run = (await client.post(f"/v1/agents/{AGENT}/messages/async", json={"input": "hi"})).json()["id"]
        answer = await client.post(f"/v1/runs/{run}/stream", json={})
        stream = (answer.status_code, answer.json())
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:  # a new connection
        done = await _until(lambda body: body["status"] == "completed", client, f"/v1/runs/{run}")
    return {"stream": stream, "completed_at": done["completed_at"]}


async def _until(ready: Callable[[Any], bool], client: httpx.AsyncClient, path: str) -> Any:
    for _ in range(200):  # bounded: 10 s
        body = (await client.get(path)).json()
        if ready(body):
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never got ready")

"""The kit against what a real Letta 0.16.8 still got past it: a cursor that ignores ``after``, a
connection dropped after a 500, a late flip (each once, on its check, run after run), paging,
one verdict per answer, reproductions that reproduce, a create body for a spec without examples."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.openapi.checks import UndefinedStatusCode, UnsupportedMethodResponse

from comeback.cli import main
from contracts.conformance import MAX_TIME, STREAM_EVENTS, STREAM_SECONDS, Settings, per_operation
from contracts.conformance_findings import Findings
from contracts.probes import Options
from contracts.report import Report, Violation
from contracts.run import check
from lifecycle.bundled import bundled_specs
from lifecycle.spec import load_spec
from tests.servers.base import STATES, Defects, serve
from tests.servers.letta import Letta, LettaWithMessageRoutes
from tests.servers.privategpt import PrivateGpt

LETTA = next(path for path in bundled_specs() if path.stem == "letta")
RUNS = "GET /v1/runs/"


def letta(defects: Defects, phases: tuple[str, ...], **kwargs: Any) -> Report:
    options = kwargs.pop("options", Options(resources=1, deadline=10.0))
    with serve(Letta, defects) as url:
        return check(LETTA, url, phases=phases, options=options, **kwargs)


def findings(report: Report, check_name: str) -> list[Violation]:
    return [v for v in report.violations if v.check == check_name]


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_cursor_a_drop_and_a_late_flip_are_each_reported_once_on_their_check(attempt: int) -> None:
    defects = Defects(after_ignores_order=True, delete_500=True, reset_after_500=True, late_flip_after=3.9)
    report = letta(defects, ("lifecycle", "paging", "delete", "stream"))
    paging = findings(report, "paging.after")
    assert [v.unit for v in paging] == [f"{RUNS} (order=desc)"], report.summary()
    assert "will loop forever" in paging[0].message
    dropped = findings(report, "transport.connection_dropped")
    assert len(dropped) == 1
    assert "after answering 500 to DELETE /v1/runs/{run_id}" in dropped[0].message
    flipped = findings(report, "lifecycle.terminal_sticky")
    assert len(flipped) == 1
    assert "'completed' changed to 'failed'" in flipped[0].message
    expected = {"paging.after", "transport.connection_dropped", "lifecycle.terminal_sticky", "delete.answer"}
    assert {v.check for v in report.violations} == expected, report.summary()
    keys = [(v.check, v.unit, v.message) for v in report.found]
    assert len(keys) == len(set(keys))


def test_a_fresh_agent_whose_cursor_ignores_after_loses_items_with_pages_of_one() -> None:
    """limit=1, after=<the one run shown> answers [] (as on Letta 0.16.8): the walk of pages of one
    ends early; the kit names the cursor and the items it missed."""
    with serve(Letta, Defects(after_ignores_order=True)) as url:
        report = check(LETTA, url, phases=("paging",), options=Options(resources=3, deadline=6.0))
        sent = [path for path in STATES[url]["paths"] if path.startswith("/v1/runs/")]
    assert sent
    message = findings(report, "paging.after")[0].message
    assert "after=run-" in message
    assert "already seen" in message or "stop early" in message
    assert report.outcome("paging.after", f"{RUNS} (order=asc)")[0] == "passed"
    assert report.outcome("paging.before", f"{RUNS} (order=desc)")[0] == "not observed"


def test_a_correct_cursor_passes_both_orders_and_before() -> None:
    report = letta(Defects(), ("paging",), options=Options(resources=3, deadline=6.0))
    for order in ("asc", "desc"):
        assert report.outcome("paging.after", f"{RUNS} (order={order})")[0] == "passed", report.summary()
        assert report.outcome("paging.before", f"{RUNS} (order={order})")[0] == "passed"
    assert report.violations == []


def test_the_stream_503_is_one_verdict_in_conformance_and_in_the_stream_phase() -> None:
    report = letta(
        Defects(stream_status=503),
        ("conformance", "stream"),
        auth="none",
        max_time=6,
        operations=["retrieveStreamForRun", "createAgentMessageAsync"],
    )
    assert not [v for v in report.violations if "ST101" in v.message], report.summary()
    stream = "POST /v1/runs/{run_id}/stream"
    assert report.outcome("conformance.not_a_server_error", stream) != ("failed", "")
    assert "documented as unavailable" in report.outcome("stream.opens")[1]


def test_the_same_finding_seen_on_every_read_is_one_finding() -> None:
    report = Report("x")
    for _ in range(3):
        report.add(Violation("lifecycle.timestamps", "completed_at='x' has no UTC offset", unit="resource 1"))
    report.add(Violation("lifecycle.timestamps", "completed_at='x' has no UTC offset", unit="resource 2"))
    assert len(report.found) == 2


def run_script(violation: Violation) -> str:
    text = "\n".join(violation.as_dict()["reproduce"])
    done = subprocess.run(["bash", "-c", text], capture_output=True, text=True, timeout=60, check=False)
    return done.stdout


def statuses(output: str) -> list[str]:
    found = []
    for line in output.splitlines():
        body = line.split("  # HTTP", 1)[0]
        try:
            parsed = json.loads(body)
        except ValueError:
            continue
        if isinstance(parsed, dict) and "status" in parsed:
            found.append(parsed["status"])
    return found


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the reproductions are curl scripts")


@needs_curl
def test_the_reproduction_of_a_cancel_that_flips_shows_the_flip() -> None:
    options = Options(resources=1, deadline=10.0, settle=1.0, first_poll=0.05, max_poll=0.5)
    # the script's create, read and cancel are three curl processes: on a loaded machine they once
    # took longer than a 2.5 s run works, so the script cancelled a finished run and saw no flip
    with serve(Letta, Defects(cancel_flips_after=3.0, work_seconds=5.0)) as url:
        report = check(LETTA, url, phases=("cancel",), options=options)
        script = findings(report, "cancel.sticky")[0]
        assert "RUN=$(curl" in "\n".join(script.as_dict()["reproduce"])
        seen = statuses(run_script(script))  # a new run, cancelled and polled through $RUN
    assert "cancelled" in seen, seen
    assert seen[-1] == "completed", seen


@needs_curl
def test_the_reproduction_of_a_late_flip_shows_the_flip() -> None:
    with serve(Letta, Defects(late_flip_after=3.9)) as url:
        report = check(LETTA, url, phases=("lifecycle",), options=Options(resources=1, deadline=10.0))
        seen = statuses(run_script(findings(report, "lifecycle.terminal_sticky")[0]))
    assert "completed" in seen, seen
    assert seen[-1] == "failed", seen


@needs_curl
def test_the_reproduction_of_a_stream_without_its_terminal_signal_shows_it() -> None:
    options = Options(resources=1, deadline=6.0, settle=0.5, first_poll=0.05, max_poll=0.5)
    with serve(Letta, Defects(drop_stream=True)) as url:
        report = check(LETTA, url, phases=("stream",), options=options)
        script = findings(report, "stream.terminal_signal")[0]
        text = "\n".join(script.as_dict()["reproduce"])
        output = run_script(script)
    assert 'curl -sS -X POST "http://127.0.0.1' in text
    assert '/v1/runs/${RUN}/stream"' in text  # the stream of the run the script created ...
    assert "  # HTTP 200" in output
    assert "[DONE]" not in output  # ... ends without its terminal signal


# -- a create body for a spec without examples ------------------------------------------------------
def without_examples(api: str, folder: Path, *, loosen: str | None = None) -> Path:
    """The bundled spec of ``api`` with no example on its create's request body (a user's spec);
    ``loosen`` names a schema whose alternatives are dropped (so ``{}`` is schema-valid)."""
    source = next(path for path in bundled_specs() if path.stem == api)
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    create = document["x-lifecycle"]["create"]["operation"]
    for item in document["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict) and operation.get("operationId") == create:
                media = operation["requestBody"]["content"]["application/json"]
                media.pop("example", None)
                media.pop("examples", None)
    if loosen:
        document["components"]["schemas"][loosen].pop("anyOf", None)
    written = folder / f"{api}.yaml"
    written.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return written


def test_a_spec_without_a_create_example_gets_a_schema_valid_body(tmp_path: Path) -> None:
    spec = without_examples("privategpt", tmp_path)
    with serve(PrivateGpt, Defects()) as url:
        report = check(spec, url, phases=("lifecycle",), options=Options(resources=1, deadline=6.0))
    assert report.error is None, report.summary()
    assert report.violations == [], report.summary()
    assert report.outcome("lifecycle.reaches_terminal", "resource 1")[0] == "passed"


def test_a_refused_generated_body_is_shown_with_the_answer_and_the_ways_to_give_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = without_examples("letta", tmp_path, loosen="LettaAsyncRequest")
    with serve(Letta, Defects()) as url:
        arguments = ["check", str(spec), "--base-url", url, "--phase", "lifecycle", "--quiet"]
        code = main([*arguments, "--param", "max_steps=7"])
    error = capsys.readouterr().err
    assert code == 2
    assert "expected 2xx, got 422" in error  # the server's answer ...
    assert '{"max_steps": 7}' in error  # ... the body sent, with the --param value as an integer ...
    assert "`example` of createAgentMessageAsync's request body" in error  # ... and the ways to give one
    assert "--param FIELD=VALUE" in error


# -- the two judgment calls (openapi/letta.yaml decisions L-A16, L-A17) -------------------------------
def verdicts(failures: list[tuple[str, str, Any, int]]) -> list[Violation]:
    """The conformance finding for each (label, operationId, failure, status), default tolerances."""
    spec = load_spec(LETTA.read_text(encoding="utf-8"), str(LETTA), validate_openapi=False)
    tolerate = frozenset(d.name for d in spec.lifecycle.deviations if d.tolerated)
    settings = Settings("http://127.0.0.1:1", tolerate=tolerate)
    labels = {label: operation for label, operation, _, _ in failures}
    report = Report("letta")
    recorder = Findings(report, spec.lifecycle, settings, labels, {})
    for label, _, failure, status in failures:
        info = SimpleNamespace(failure=failure, steps=[], code_sample="curl ...")
        recorder.failure("conformance.x", label, None, info, SimpleNamespace(status_code=status))
    return report.found


def test_patch_on_messages_async_answered_by_the_message_route_is_a_tolerated_warning() -> None:
    """Schemathesis tries undeclared methods when its budget allows, so the verdict on the answer is
    checked directly: a 422 to PATCH is excused by patch-async-is-a-message-update (L-A16); a 500
    to it, or a 422 the spec does not document elsewhere, is not."""
    create = "POST /v1/agents/{agent_id}/messages/async"

    def patch(status: int) -> UnsupportedMethodResponse:
        return UnsupportedMethodResponse(
            operation=create, method="PATCH", status_code=status, failure_reason="wrong_status", message="x"
        )

    undefined = UndefinedStatusCode(
        operation=create,
        status_code=422,
        defined_status_codes=["200"],
        allowed_status_codes=[200],
        message="x",
    )
    found = verdicts(
        [
            (create, "createAgentMessageAsync", patch(422), 422),
            (create + " ", "createAgentMessageAsync", patch(500), 500),
            (create + "  ", "createAgentMessageAsync", undefined, 422),
        ]
    )
    assert [v.tolerated_by for v in found] == ["patch-async-is-a-message-update", None, None]
    assert found[0].message.startswith("ST204")


def test_a_server_with_the_message_route_gets_no_unsupported_method_violation() -> None:
    with serve(LettaWithMessageRoutes, Defects()) as url:
        report = check(
            LETTA,
            url,
            phases=("conformance",),
            auth="none",
            max_time=8,
            operations=["createAgentMessageAsync"],
        )
    assert not [v for v in report.violations if v.check == "conformance.unsupported_method"], report.summary()


def test_a_null_cancel_body_that_cancels_all_runs_is_a_tolerated_warning_and_nothing_more() -> None:
    """Schemathesis sends a JSON null body only now and then, so the verdict on one is checked
    directly: tolerated as cancel-null-body-cancels-all (L-A17); the same 200 on another operation
    is not."""
    cancel, runs = verdicts(
        [
            (
                label,
                operation,
                AcceptedNegativeData(
                    operation=label, message="x", status_code=200, expected_statuses=["4xx"]
                ),
                200,
            )
            for label, operation in (
                ("POST /v1/agents/{agent_id}/messages/cancel", "cancelAgentRun"),
                ("GET /v1/runs/", "listRuns"),
            )
        ]
    )
    assert cancel.tolerated_by == "cancel-null-body-cancels-all"
    assert runs.tolerated_by is None
    assert "ST201" in cancel.message


# -- transport drops inside conformance, and the budget ----------------------------------------------
def test_a_drop_after_a_500_in_conformance_is_a_finding_on_the_delete_not_on_the_next_request() -> None:
    """Schemathesis resends a request the server dropped on a fresh connection, so the drop never
    showed in its results; the kit sends the next request on that connection itself."""
    report = letta(
        Defects(delete_500=True, reset_after_500=True),
        ("conformance",),
        auth="none",
        max_time=15,  # the stateful phase must reach a DELETE of a real run, also on a loaded machine
        operations=["createAgentMessageAsync", "deleteRun"],
    )
    dropped = findings(report, "transport.connection_dropped")
    assert len(dropped) == 1, report.summary()
    assert "after answering 500 to DELETE /v1/runs/{run_id}" in dropped[0].message
    assert not findings(report, "conformance.transport")


@needs_curl
def test_the_reproduction_of_a_drop_shows_the_drop_on_one_connection() -> None:
    with serve(Letta, Defects(delete_500=True, reset_after_500=True)) as url:
        report = check(LETTA, url, phases=("delete",), options=Options(resources=1, deadline=6.0))
        script = "\n".join(findings(report, "transport.connection_dropped")[0].reproduce)
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.startswith("500 "), done.stdout + done.stderr  # the DELETE answered 500 ...
    assert "RemoteDisconnected" in done.stderr or "ConnectionResetError" in done.stderr  # ... then the drop


def test_conformance_reads_a_stream_briefly_so_it_cannot_eat_the_budget() -> None:
    spec = load_spec(LETTA.read_text(encoding="utf-8"), str(LETTA), validate_openapi=False)
    stream = next(
        s for s in per_operation(spec.lifecycle) if s["include-operation-id"] == "retrieveStreamForRun"
    )
    assert stream["request-timeout"] == STREAM_SECONDS <= 2
    assert stream["max-stream-events"] == STREAM_EVENTS
    assert MAX_TIME <= 30  # with the probes' seconds, one API in under a minute


def test_a_drop_after_the_streams_503_costs_the_stream_phase_nothing() -> None:
    """The stream is read on a connection of its own, followed after a 5xx like any other."""
    report = letta(Defects(stream_status=503, reset_after_500=True), ("stream",))
    assert not [v for v in report.violations if v.check.startswith("stream.")], report.summary()
    assert "documented as unavailable" in report.outcome("stream.opens")[1]
    dropped = findings(report, "transport.connection_dropped")
    assert len(dropped) == 1
    assert "after answering 503 to POST /v1/runs/{run_id}/stream" in dropped[0].message


def test_a_body_wrong_on_every_read_is_one_finding_per_resource() -> None:
    spec = next(path for path in bundled_specs() if path.stem == "privategpt")
    with serve(PrivateGpt, Defects(garbage_status=True)) as url:
        report = check(spec, url, phases=("lifecycle",), options=Options(resources=2, deadline=3.0))
    found = findings(report, "lifecycle.state_known")
    assert sorted(v.unit for v in found) == ["resource 1", "resource 2"], report.summary()
    assert all(len(v.timeline) > 1 for v in found)  # each read again and again, reported once

"""The kit's verdicts on servers this project did not write (``tests/servers/``), one defect each."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from comeback.cli import main
from contracts.probes import Options
from contracts.report import Report
from contracts.run import check
from lifecycle.bundled import bundled_specs
from tests.servers.base import STATES, Defects, serve
from tests.servers.letta import Letta
from tests.servers.privategpt import PrivateGpt

SPEC = next(path for path in bundled_specs() if path.stem == "privategpt")
LETTA = next(path for path in bundled_specs() if path.stem == "letta")
AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
FAST = Options(resources=1, deadline=6.0, settle=0.5, first_poll=0.05, max_poll=0.5)


def run(defects: Defects, phases: tuple[str, ...], **kwargs: Any) -> Report:
    with serve(PrivateGpt, defects) as url:
        return check(SPEC, url, phases=phases, options=kwargs.pop("options", FAST), **kwargs)


def failing(report: Report) -> set[str]:
    return {v.check for v in report.violations}


def test_a_server_without_auth_declared_as_such_passes_every_phase() -> None:
    report = run(
        Defects(), ("conformance", "lifecycle", "cancel", "delete", "stream"), auth="none", max_time=6
    )
    assert report.violations == [], report.summary()
    assert report.counts()["passed"] > 50
    assert "auth: none (as given" in report.summary()


def test_a_server_that_requires_auth_fails_the_auth_check_when_it_ignores_it() -> None:
    # the deployment is declared as requiring a credential, but this server accepts anything
    report = run(
        Defects(), ("conformance",), headers={"Authorization": "secret"}, auth="required", max_time=6
    )
    assert "conformance.ignored_auth" in failing(report)
    assert all("secret" not in line for v in report.found for line in v.reproduce)


def test_a_reset_after_a_500_is_a_finding_and_every_later_phase_still_runs(tmp_path: Path) -> None:
    junit, data = tmp_path / "report.xml", tmp_path / "report.json"
    with serve(PrivateGpt, Defects(delete_500=True, reset_after_500=True)) as url:
        code = main(
            [
                *["check", str(SPEC), "--base-url", url, "--phase", "delete", "--phase", "stream", "--quiet"],
                *["--deadline", "6", "--junit", str(junit), "--report-json", str(data)],
            ]
        )
    assert code == 1
    report = json.loads(data.read_text(encoding="utf-8"))
    outcomes = {case["check"]: case for case in report["cases"]}
    assert outcomes["delete.answer"]["outcome"] == "failed"
    assert outcomes["delete.then_read"]["outcome"] == "not observed"
    assert "could not be deleted: 500" in outcomes["delete.then_read"]["reason"]
    # the reset the 500 left behind is a finding of its own, on the DELETE; the next phase ran in full
    assert outcomes["transport.connection_dropped"]["outcome"] == "failed"
    dropped = next(f for f in report["findings"] if f["check"] == "transport.connection_dropped")
    assert "after answering 500 to DELETE /v1/messages/async/{message_id}/delete" in dropped["message"]
    assert "c.request('GET', '/')" in "\n".join(dropped["reproduce"])  # the next request, same connection
    assert outcomes["stream.opens"]["outcome"] == "passed"
    suite = ElementTree.parse(junit).getroot()
    failures = [case for case in suite if case.find("failure") is not None]
    assert int(suite.get("failures", "-1")) == len(failures)
    assert all(case.get("time") is not None for case in suite)


def test_a_body_that_is_neither_utf8_nor_json_is_a_finding_not_a_crash() -> None:
    report = run(Defects(garbage_status=True), ("lifecycle", "delete"))
    assert report.error is None
    found = [v.message for v in report.violations if v.check == "lifecycle.state_known"]
    assert found
    assert "not a JSON object" in found[0]
    assert report.outcome("delete.answer")[0] == "passed"  # the next phase ran


def test_200_to_invalid_bodies_is_not_excused_by_the_400_not_422_deviation() -> None:
    report = run(
        Defects(accept_invalid=True),
        ("conformance",),
        auth="none",
        max_time=20,
        examples=10,
        operations=["createAsyncMessage"],
    )
    create = "POST /v1/messages/async"
    found = [v for v in report.violations if v.check == "conformance.negative_data_rejection"]
    assert any(v.unit == create for v in found), report.summary()
    assert "validation-400-not-422" not in {v.tolerated_by for v in report.found if v.unit == create}


def test_a_cancelled_resource_that_flips_3s_after_the_cancel_is_caught() -> None:
    options = Options(resources=1, deadline=10.0, settle=1.0, first_poll=0.05, max_poll=0.5)
    report = run(Defects(cancel_flips_after=3.0, work_seconds=2.5), ("cancel",), options=options)
    assert "cancel.sticky" in failing(report), report.summary()
    message = next(v for v in report.violations if v.check == "cancel.sticky").message
    assert "'cancelled' changed to 'completed'" in message


def test_a_stream_without_its_terminal_signal_fails_terminal_signal() -> None:
    report = run(Defects(drop_stream=True), ("stream",))
    assert "stream.terminal_signal" in failing(report), report.summary()


def test_a_documented_unavailable_stream_is_not_observed_never_ok() -> None:
    report = run(Defects(stream_status=404), ("stream",))
    assert report.violations == [], report.summary()
    for name in ("stream.opens", "stream.frames", "stream.terminal_signal", "stream.cancel_closes"):
        outcome, reason = report.outcome(name)
        assert outcome == "not observed"
        assert "404" in reason


def test_an_undocumented_stream_status_fails_opens() -> None:
    report = run(Defects(stream_status=500), ("stream",))
    assert "stream.opens" in failing(report)
    assert report.outcome("stream.frames")[0] == "not observed"


def test_a_never_finishing_resource_is_reported_at_the_deadline() -> None:
    report = run(
        Defects(work_seconds=1000.0), ("lifecycle", "stream"), options=Options(resources=2, deadline=2.0)
    )
    messages = [v.message for v in report.violations if v.check == "lifecycle.reaches_terminal"]
    assert len(messages) == 2
    assert all("--deadline 2s" in m and "processing" in m for m in messages)
    assert report.outcome("stream.terminal_signal")[0] == "not observed"


def test_the_same_spec_gives_the_same_testcases_on_every_run() -> None:
    names = []
    for defects in (Defects(), Defects(delete_500=True)):
        with serve(PrivateGpt, defects) as url:
            report = check(SPEC, url, phases=("delete", "lifecycle"), options=FAST)
        names.append([case.get("name") for case in ElementTree.fromstring(report.junit())])
    assert names[0] == names[1]


def test_a_usage_error_still_writes_junit_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit, data = tmp_path / "r.xml", tmp_path / "r.json"
    arguments = ["check", str(SPEC), "--base-url", "127.0.0.1:8000", "--junit", str(junit)]
    code = main([*arguments, "--report-json", str(data)])
    assert code == 2
    assert "did you mean 'http://127.0.0.1:8000'?" in capsys.readouterr().err
    assert ElementTree.parse(junit).getroot().get("failures") == "1"
    assert json.loads(data.read_text(encoding="utf-8"))["exit_code"] == 2


def test_an_unknown_deviation_name_is_a_usage_error_with_a_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["check", str(SPEC), "--base-url", "http://127.0.0.1:9", "--tolerate", "validation-400-not-42"]
    )
    assert code == 2
    assert "did you mean 'validation-400-not-422'?" in capsys.readouterr().err


def test_help_lists_the_deviation_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["check", "--help"])
    out = capsys.readouterr().out
    assert "running-never-written" in out
    assert "  privategpt: validation-400-not-422, " in out
    assert "chatbody-only-messages-required" in out  # never broken across lines


def test_param_values_reach_the_generated_requests() -> None:
    with serve(PrivateGpt, Defects()) as url:
        check(
            SPEC,
            url,
            phases=("conformance",),
            auth="none",
            params={"message_id": "given-1"},
            max_time=5,
            operations=["getAsyncMessageStatus"],
        )
        paths = STATES[url]["paths"]
    status_reads = [path for path in paths if path.endswith("/status")]
    assert status_reads
    assert {path.split("/")[4] for path in status_reads} == {"given-1"}


# -- Letta ----------------------------------------------------------------------------------------
def test_letta_delete_500_then_a_reset_is_two_findings_and_the_stream_phase_still_runs() -> None:
    """Letta 0.16.8: DELETE answers 500, then the kept-alive connection is reset."""
    with serve(Letta, Defects(delete_500=True, reset_after_500=True)) as url:
        report = check(LETTA, url, phases=("delete", "stream"), options=FAST)
    assert report.exit_code == 1
    answer = next(v for v in report.violations if v.check == "delete.answer")
    assert "delete-run-500" in answer.message
    assert report.outcome("delete.then_read") == ("not observed", "the resource could not be deleted: 500")
    dropped = [v for v in report.violations if v.check == "transport.connection_dropped"]
    assert len(dropped) == 1, report.summary()
    assert "after answering 500 to DELETE /v1/runs/{run_id}" in dropped[0].message
    assert not [v for v in report.violations if v.check.startswith("stream.")]  # no later check pays


def test_letta_documented_503_on_the_stream_is_no_alarm() -> None:
    with serve(Letta, Defects(stream_status=503)) as url:
        report = check(LETTA, url, phases=("stream",), options=FAST)
    assert report.violations == [], report.summary()
    assert report.outcome("stream.opens")[1].startswith("the stream answered 503, documented as unavailable")
    assert report.outcome("stream.cancel_closes")[0] == "not observed"


def test_letta_cancelled_run_that_flips_to_completed_3s_later_is_caught() -> None:
    options = Options(resources=1, deadline=10.0, settle=1.0, first_poll=0.05, max_poll=0.5)
    with serve(Letta, Defects(cancel_flips_after=3.0, work_seconds=2.5)) as url:
        report = check(LETTA, url, phases=("cancel",), options=options)
    sticky = [v for v in report.violations if v.check == "cancel.sticky"]
    assert sticky, report.summary()
    assert "cancel-not-sticky" in sticky[0].message


def test_letta_500_on_a_negative_limit_is_found_in_conformance() -> None:
    with serve(Letta, Defects(limit_500=True)) as url:
        report = check(  # 20 s: on a loaded machine 10 s did not always reach the negative limit
            LETTA, url, phases=("conformance",), auth="none", max_time=20, operations=["listStepsForRun"]
        )
    errors = [v for v in report.violations if v.check == "conformance.not_a_server_error"]
    assert errors, report.summary()
    assert errors[0].unit == "GET /v1/runs/{run_id}/steps"


def test_letta_agent_not_found_hints_param_and_the_param_makes_it_pass(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve(Letta, Defects(extra={"agents": {AGENT}})) as url:
        base = ["check", str(LETTA), "--base-url", url, "--phase", "lifecycle", "--quiet", "--deadline", "6"]
        assert main(base) == 2
        assert "pass --param agent_id=VALUE" in capsys.readouterr().err
        assert main([*base, "--param", f"agent_id={AGENT}"]) == 0

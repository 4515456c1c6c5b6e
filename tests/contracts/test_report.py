"""The report's three outcomes, its JUnit and JSON forms, and credentials as environment references."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from contracts.report import EXIT_USAGE, Report, Violation
from contracts.target import Exchange, check_base_url, hide_secrets, secret_references


def sample() -> Report:
    report = Report("letta", references={"Authorization": "COMEBACK_AUTHORIZATION"})
    for unit in ("resource 1", "resource 2"):
        report.expect("lifecycle.transitions", unit)
    report.expect("delete.then_read")
    report.passed("lifecycle.transitions", "resource 1")
    report.add(Violation("lifecycle.transitions", "a -> b is not allowed", unit="resource 2"))
    report.add(Violation("lifecycle.transitions", "b -> a is not allowed", unit="resource 2"))
    report.not_observed("delete.then_read", reason="the resource could not be deleted: 500")
    return report


def test_three_outcomes_and_a_case_nothing_was_recorded_for_is_not_observed() -> None:
    report = sample()
    report.expect("stream.frames")
    assert report.outcome("lifecycle.transitions", "resource 1") == ("passed", "")
    assert report.outcome("lifecycle.transitions", "resource 2") == ("failed", "")
    assert report.outcome("delete.then_read") == ("not observed", "the resource could not be deleted: 500")
    assert report.outcome("stream.frames") == ("not observed", "not reached")
    assert report.counts() == {"passed": 1, "failed": 1, "not observed": 2}
    summary = report.summary()
    assert " n/o  delete.then_read (1 not observed)" in summary
    assert "not observed: the resource could not be deleted: 500" in summary
    assert summary.splitlines()[-1] == (
        "2 violation(s), 0 warning(s) in 3 check(s): 1 passed, 1 failed, 2 not observed"
    )


def test_junit_has_one_failure_per_failing_case_and_time_on_every_case() -> None:
    suite = ElementTree.fromstring(sample().junit())
    cases = list(suite)
    assert [c.get("name") for c in cases] == [
        "delete.then_read",
        "lifecycle.transitions [resource 1]",
        "lifecycle.transitions [resource 2]",
    ]
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "1"
    assert suite.get("skipped") == "1"
    assert len(suite.findall("./testcase/failure")) == 1
    assert suite.find("./testcase/failure").get("message") == "2 violations"  # type: ignore[union-attr]
    assert all(c.get("time") is not None for c in cases)


def test_a_usage_error_is_one_failing_testcase_and_in_the_json() -> None:
    report = Report("letta")
    report.fail("--base-url '127.0.0.1' needs a scheme", EXIT_USAGE)
    suite = ElementTree.fromstring(report.junit())
    assert (suite.get("tests"), suite.get("failures")) == ("1", "1")
    assert report.exit_code == EXIT_USAGE
    document = json.loads(report.as_json())
    assert document["exit_code"] == EXIT_USAGE
    assert "needs a scheme" in document["error"]


def test_json_has_the_same_content_as_the_summary() -> None:
    document = json.loads(sample().as_json())
    assert document["counts"] == {"violations": 2, "warnings": 0, "passed": 1, "failed": 1, "not_observed": 1}
    assert {c["outcome"] for c in document["cases"]} == {"passed", "failed", "not observed"}
    assert document["credentials"] == {"$COMEBACK_AUTHORIZATION": "Authorization"}


def test_credentials_are_environment_references_in_every_reproduction() -> None:
    headers = {"Authorization": "Bearer sk-very-secret", "X-Org": "acme"}
    references = secret_references(headers, frozenset({"authorization"}))
    assert references == {"Authorization": "COMEBACK_AUTHORIZATION"}
    exchange = Exchange("GET", "http://127.0.0.1:1/v1/runs/x", headers, None, 200, {}, 0.0)
    curl = exchange.curl(references)
    assert "sk-very-secret" not in curl
    assert '-H "Authorization: $COMEBACK_AUTHORIZATION"' in curl
    assert "'X-Org: acme'" in curl
    schemathesis_curl = "curl -X GET -H 'Authorization: Bearer sk-very-secret' http://127.0.0.1:1/v1/runs/x"
    hidden = hide_secrets(schemathesis_curl, headers, references)
    assert hidden == 'curl -X GET -H "Authorization: $COMEBACK_AUTHORIZATION" http://127.0.0.1:1/v1/runs/x'


def test_a_base_url_without_a_scheme_gets_a_hint() -> None:
    assert check_base_url("http://127.0.0.1:8000") is None
    hint = check_base_url("127.0.0.1:8000")
    assert hint is not None
    assert "did you mean 'http://127.0.0.1:8000'?" in hint

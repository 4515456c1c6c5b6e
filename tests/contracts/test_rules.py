"""The live rule checks (``contracts.rules``): for each rule kind, an independent server that breaks
it is caught on the right check, and the same server without the defect passes it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from comeback.testing import bundled_catalog
from contracts.probes import Options
from contracts.report import Report
from contracts.rules import CHECKS, check_for
from contracts.run import check
from lifecycle.bundled import bundled_specs
from lifecycle.rules import RULE_KINDS
from lifecycle.spec import load_spec
from mockserver.app import create_app, default_settings
from mockserver.servers import serve_in_thread
from tests.contracts.budgets import AT_SPEED
from tests.servers.base import Defects, Handler, serve
from tests.servers.chatzy import Chatzy
from tests.servers.invent import Invent
from tests.servers.letta import Letta
from tests.servers.privategpt import PrivateGpt

SPECS = {path.stem: path for path in bundled_specs()}
SERVERS: dict[str, type[Handler]] = {
    "chatzy": Chatzy,
    "invent": Invent,
    "letta": Letta,
    "privategpt": PrivateGpt,
}
HEADERS = {"invent": {"Authorization": "Bearer key"}}
# window: a resource works 2.5 s, so watching it 3 s after its creation (not 5) still reads it past
# its terminal state (and settle 0.5 s beyond); no defect here flips a finished resource later
FAST = Options(resources=1, deadline=6.0, settle=0.5, first_poll=0.05, max_poll=0.5, window=3.0)
PHASES = ("lifecycle", "stream")
TOKEN = "contract-token"


def run(api: str, spec: Path | None = None, **extra: Any) -> Report:
    with serve(SERVERS[api], Defects(work_seconds=2.5, extra=extra)) as url:
        return check(spec or SPECS[api], url, headers=HEADERS.get(api, {}), phases=PHASES, options=FAST)


def failed(report: Report, name: str) -> list[str]:
    """The units of ``name`` that failed."""
    return sorted(v.unit for v in report.violations if v.check == name)


@pytest.mark.parametrize("api", sorted(SERVERS))
def test_a_correct_server_passes_every_rule_of_its_spec(api: str) -> None:
    report = run(api)
    assert report.violations == [], report.summary()
    rules = [(c, u) for c, u in report.cases if c.startswith("rules.")]
    assert rules
    for name, unit in rules:
        outcome, reason = report.outcome(name, unit)
        assert outcome == "passed" or "token lives 60s" in reason, (name, unit, reason)


@pytest.mark.parametrize(
    ("api", "defect", "check_name", "units"),
    [
        ("chatzy", {"token_reusable": True}, "rules.stream_token", ["temp-token (reuse)"]),
        ("chatzy", {"status_early": 1.2}, "rules.view_agrees_with_stream", ["status-waits-for-the-stream"]),
        (
            "chatzy",
            {"reply_not_stored": True},
            "rules.list_contains_reply",
            ["messages-list-the-reply", "status-lists-the-reply"],
        ),
        ("invent", {"list_omits": True}, "rules.list_contains_reply", ["chat-lists-the-message"]),
        ("invent", {"usage_off_by": 3}, "rules.sum", ["usage-total"]),
        ("invent", {"created_at_drifts": True}, "rules.same_in_views", ["message-same-in-every-view"]),
        ("letta", {"no_reply": True}, "rules.list_contains_reply", ["run-messages-hold-the-reply"]),
        ("letta", {"no_steps": True}, "rules.list_contains_reply", ["run-steps-list-the-run"]),
        ("letta", {"usage_off_by": 3}, "rules.sum", ["usage-total"]),
        ("letta", {"created_at_drifts": True}, "rules.same_in_views", ["run-same-in-every-view"]),
        ("letta", {"status_early": 1.2}, "rules.view_agrees_with_stream", ["status-waits-for-the-stream"]),
        (
            "privategpt",
            {"status_early": 1.2},
            "rules.view_agrees_with_stream",
            ["status-waits-for-the-stream"],
        ),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, dict | list) else str(value).replace("rules.", ""),
)
def test_a_server_that_breaks_a_rule_fails_its_check_with_a_reproduction(
    api: str, defect: dict[str, Any], check_name: str, units: list[str]
) -> None:
    report = run(api, **defect)
    assert failed(report, check_name) == units, report.summary()
    # the defect shows on the rule's check only (the structural checks do not see it)
    assert {v.check for v in report.violations} <= {check_name, "rules.same_in_views"}, report.summary()
    for violation in (v for v in report.violations if v.check == check_name):
        assert violation.message.startswith(f"{violation.unit.split(' ')[0]}: ")
        assert any(e.status is not None for e in violation.exchanges)
        assert "curl -sS" in violation.render()


@pytest.mark.parametrize("api", ["chatzy", "invent"])
def test_the_new_independent_servers_conform_to_their_specs(api: str) -> None:
    defects = Defects(token="Bearer key" if api == "invent" else None)
    with serve(SERVERS[api], defects) as url:
        report = check(
            SPECS[api],
            url,
            headers=HEADERS.get(api, {}),
            phases=("conformance",),
            max_time=10,
            examples=5,
            auth="required" if api == "invent" else "none",
        )
    assert report.violations == [], report.summary()


def _short_lived(tmp_path: Path) -> Path:
    """The Chatzy spec with a 1 s token, so the expiry can be observed within a test."""
    text = SPECS["chatzy"].read_text(encoding="utf-8").replace("ttl_seconds: 60", "ttl_seconds: 1")
    spec = tmp_path / "chatzy.yaml"
    spec.write_text(text, encoding="utf-8")
    return spec


def test_an_expired_token_is_refused_by_a_correct_server(tmp_path: Path) -> None:
    report = run("chatzy", _short_lived(tmp_path), ttl=1.0)
    assert report.outcome("rules.stream_token", "temp-token (expiry)") == ("passed", "")


def test_a_token_that_never_expires_fails_the_expiry_case(tmp_path: Path) -> None:
    report = run("chatzy", _short_lived(tmp_path), ttl=1.0, token_never_expires=True)
    assert failed(report, "rules.stream_token") == ["temp-token (expiry)"], report.summary()
    message = next(v.message for v in report.violations)
    assert "a token 1.5s old (lifetime 1s) opened the stream: expected 401, got 200" in message


def test_a_token_longer_lived_than_the_deadline_is_not_observed_with_the_reason() -> None:
    report = run("chatzy")
    assert report.outcome("rules.stream_token", "temp-token (expiry)") == (
        "not observed",
        "the token lives 60s; waiting for it to expire does not fit --deadline 6s",
    )


def test_a_stream_that_does_not_open_leaves_the_stream_rules_not_observed() -> None:
    with serve(Letta, Defects(stream_status=503)) as url:
        report = check(SPECS["letta"], url, phases=("stream",), options=FAST)
    outcome, reason = report.outcome("rules.view_agrees_with_stream", "status-waits-for-the-stream")
    assert outcome == "not observed"
    assert "the stream answered 503" in reason


def test_a_resource_that_never_ends_leaves_the_rules_not_observed_with_the_reason() -> None:
    with serve(Letta, Defects(work_seconds=1000.0)) as url:
        report = check(SPECS["letta"], url, phases=("lifecycle",), options=Options(resources=1, deadline=1.0))
    outcome, reason = report.outcome("rules.sum", "usage-total")
    assert outcome == "not observed"
    assert reason.startswith("the resource did not reach a terminal state within --deadline")


def test_every_rule_kind_has_a_live_check_and_every_bundled_rule_one_or_a_decision() -> None:
    assert set(CHECKS) == set(RULE_KINDS) - {"unchecked"}
    for path in bundled_specs():
        lifecycle = load_spec(path.read_text(encoding="utf-8"), str(path), validate_openapi=False).lifecycle
        decided = {d.ambiguity for d in lifecycle.decisions}
        assert lifecycle.rules, path.stem
        for rule in lifecycle.rules:
            assert check_for(rule) is not None or rule.decision in decided, (path.stem, rule.id)


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    settings = replace(default_settings(), speed=20.0, strict=True, token=TOKEN)
    with serve_in_thread(create_app(settings, catalog=bundled_catalog())) as url:
        yield url


MOCK_HEADERS = {
    "privategpt": {"Authorization": TOKEN},
    "letta": {"Authorization": f"Bearer {TOKEN}"},
    "invent": {"Authorization": f"Bearer {TOKEN}"},
    "chatzy": {},
}


@pytest.mark.parametrize(
    ("api", "scenario"),
    [
        ("chatzy", "happy"),
        ("chatzy", "error-turn"),
        ("invent", "happy"),
        ("letta", "happy"),
        ("letta", "failed"),
        ("privategpt", "happy"),
    ],
)
def test_the_mock_keeps_every_stated_rule(mock_url: str, api: str, scenario: str) -> None:
    httpx.put(f"{mock_url}/__mock/scenarios/{api}/default", json={"name": scenario}).raise_for_status()
    report = check(
        SPECS[api],
        mock_url,
        headers=MOCK_HEADERS[api],
        phases=PHASES,
        options=AT_SPEED,
    )
    assert report.violations == [], report.summary()
    outcomes = {(c, u): report.outcome(c, u) for c, u in report.cases if c.startswith("rules.")}
    assert any(outcome == "passed" for outcome, _ in outcomes.values()), outcomes
    if scenario == "error-turn":  # the reply ended with __ERROR__: not stored, so not judged
        reason = outcomes[("rules.list_contains_reply", "messages-list-the-reply")][1]
        assert reason.startswith("the stream ended with '__ERROR__:")
    if scenario == "failed":  # a failed run lists no messages: the rule holds for completed runs only
        reason = outcomes[("rules.list_contains_reply", "run-messages-hold-the-reply")][1]
        assert reason == "the resource ended 'failed'; the rule holds in ['completed']"

"""`comeback lint --coverage`: every stated rule of a spec, where it is stated, and what judges it."""

from __future__ import annotations

from pathlib import Path

import pytest

import contracts.rules
from comeback.cli import main
from lifecycle.bundled import bundled_specs
from lifecycle.spec import load_spec
from tests.conftest import REPO

SPECS = {path.stem: path for path in bundled_specs()}


def test_every_bundled_rule_is_listed_with_its_check_or_decision(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--coverage", *map(str, SPECS.values())]) == 0
    out = capsys.readouterr().out
    for path in SPECS.values():
        lifecycle = load_spec(path.read_text(encoding="utf-8"), str(path), validate_openapi=False).lifecycle
        for rule in lifecycle.rules:
            line = next(line for line in out.splitlines() if line.startswith(f"  {rule.id} ({rule.kind}): "))
            if rule.kind == "unchecked":
                assert line.endswith(f"no live check: decision {rule.decision} says why")
            else:
                assert f": rules.{rule.kind.replace('-', '_')} after the " in line
    assert "  usage-total (sum): rules.sum after the lifecycle phase" in out
    assert "      stated: Decision L-A15: \"the mock's figures must add up" in out


def test_a_declared_rule_kind_without_a_check_fails_coverage(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delitem(contracts.rules.CHECKS, "sum")
    assert main(["lint", "--coverage", str(SPECS["letta"])]) == 1
    assert "  usage-total (sum): NO CHECK and no decision" in capsys.readouterr().out


def test_coverage_of_a_broken_spec_shows_its_findings(capsys: pytest.CaptureFixture[str]) -> None:
    broken = REPO / "tests" / "specs" / "broken" / "rule_unknown_operation.yaml"
    assert main(["lint", "--coverage", str(broken)]) == 1
    assert "rules/0/operation: unknown operation; found 'getJb'" in capsys.readouterr().err


def test_coverage_without_a_lifecycle_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "plain.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n", encoding="utf-8")
    assert main(["lint", "--coverage", str(spec)]) == 1
    assert "no x-lifecycle, so no rules" in capsys.readouterr().err

"""The `comeback` command line: exit codes and what it prints."""

from __future__ import annotations

import pytest

from comeback.cli import main
from tests.conftest import SPECS, TEST_SPECS


def test_lint_bundled_specs_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", *(str(p) for p in sorted(SPECS.glob("*.yaml")))]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "4 file(s) checked, 0 finding(s)" in captured.err


def test_lint_without_files_checks_the_bundled_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint"]) == 0
    assert "4 file(s) checked" in capsys.readouterr().err


def test_lint_findings_exit_one_and_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    broken = TEST_SPECS / "broken" / "unknown_operation.yaml"
    assert main(["lint", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "unknown operation; found 'cancelJb'" in out
    assert "did you mean 'cancelJob'?" in out


def test_lint_of_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "no/such/spec.yaml"]) == 2
    assert "no/such/spec.yaml: /: cannot read" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])
    assert caught.value.code == 2

"""The `comeback` command line: exit codes and what it prints."""

from __future__ import annotations

import argparse
from importlib.metadata import version

import pytest

from comeback import check_command
from comeback.cli import _parser, main
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


def _options(parser: argparse.ArgumentParser, command: str) -> list[tuple[str, argparse.Action]]:
    """Every option of every command, with the command's name (sub-commands walked)."""
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_options(sub, f"{command} {name}"))
        elif action.option_strings:
            found.append((command, action))
    return found


def test_every_option_help_shows_its_default() -> None:
    options = _options(_parser(), "comeback")
    assert len(options) > 40  # every command was walked
    missing = [
        f"{command} {'/'.join(action.option_strings)}: {action.help!r}"
        for command, action in options
        if not isinstance(action, argparse._HelpAction | argparse._VersionAction)
        and not action.required
        and "default" not in (action.help or "").lower()
    ]
    assert missing == []


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"comeback {version('comeback')}"


def test_check_help_lists_the_known_deviations_read_only_when_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # every command builds every parser: reading the specs for this help must not happen then
    reads: list[str] = []
    read = check_command._deviation_names

    def counted() -> str:
        reads.append("read")
        return read()

    monkeypatch.setattr(check_command, "_deviation_names", counted)
    with pytest.raises(SystemExit):
        main(["check"])  # a usage error prints the usage only
    assert reads == []
    with pytest.raises(SystemExit) as exited:
        main(["check", "--help"])
    assert exited.value.code == 0
    assert reads == ["read"]
    out = capsys.readouterr().out
    assert "known deviations (for --tolerate / --no-tolerate):\n  privategpt: validation-400-not-422" in out
    assert "  letta: completed-with-error-stop-reason, naive-completed-at" in out

"""Finding 9: unreadable, non-UTF-8 and invalid files are refused at start-up with file, line and
exit 2; each finding is printed once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comeback.cli import main
from tests.conftest import REPO, TEST_SPECS


def _serve(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    code = main(["serve", "--port", "0", *arguments])  # every case fails before anything listens
    return code, capsys.readouterr().err


def test_a_non_utf8_spec_is_refused_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "jobs.yaml"
    spec.write_bytes(b"openapi: 3.1.0\ninfo:\n  title: caf\xe9\n")
    code, err = _serve(capsys, "--specs", str(spec))
    assert code == 2
    assert f"{spec.as_posix()}:3: /: not UTF-8 text; found byte 0xe9 at offset 33" in err
    assert "Traceback" not in err


def test_a_non_utf8_scenario_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios" / "letta", scenarios / "letta")
    (scenarios / "letta" / "broken.yaml").write_bytes(b"\xff\xfeapi: letta\n")
    code, err = _serve(capsys, "--api", "letta", "--scenarios", str(scenarios))
    assert code == 2
    assert "broken.yaml:1: /: not UTF-8 text; found byte 0xff at offset 0" in err


def test_an_unreadable_spec_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _serve(capsys, "--specs", str(tmp_path))  # a folder cannot be read as a file
    assert code == 2
    assert "cannot read: Is a directory" in err


def test_a_document_that_is_not_valid_openapi_is_not_served(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "minimal.yaml"
    spec.write_text(
        (TEST_SPECS / "minimal.yaml").read_text().replace("  version: 1.0.0\n", "", 1), encoding="utf-8"
    )
    code, err = _serve(capsys, "--specs", str(spec))
    assert code == 2
    assert ':2: /info: not valid OpenAPI 3.1: "version" is a required property' in err


def test_lint_refuses_a_non_utf8_file_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_bytes(b"\x80")
    assert main(["lint", str(spec)]) == 2
    assert "x.yaml:1: /: not UTF-8 text" in capsys.readouterr().err


def test_a_scenario_without_api_is_reported_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(REPO / "scenarios" / "letta", scenarios / "letta")
    slow = scenarios / "letta" / "slow.yaml"
    slow.write_text(
        "\n".join(line for line in slow.read_text().splitlines() if not line.startswith("api:")) + "\n"
    )
    code, err = _serve(capsys, "--api", "letta", "--scenarios", str(scenarios))
    assert code == 2
    assert err.count("missing required key; expected 'api'") == 1
    assert "1 problem(s)" in err


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--speed", "nan"),
        ("--speed", "inf"),
        ("--speed", "0"),
        ("--max-age", "-1"),
        ("--header-timeout", "0"),
    ],
)
def test_unusable_numbers_are_usage_errors(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code, err = _serve(capsys, option, value)
    assert code == 2
    assert f"{option} must be a number from" in err

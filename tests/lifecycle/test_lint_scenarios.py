"""`comeback lint` on scenario files and folders: told apart from specs by content, same findings."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comeback.cli import main
from lifecycle.bundled import bundled_scenarios
from tests.conftest import REPO, TEST_SPECS

SCENARIOS = REPO / "tests" / "scenarios"
INVALID = sorted(p for p in (SCENARIOS / "invalid").glob("*.yaml") if p.stem != "wrong_api")
MINIMAL = str(TEST_SPECS / "minimal.yaml")


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # findings name files relative to the working directory


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_a_broken_scenario_file_gives_the_same_findings_as_at_start_up(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lint", str(path.relative_to(REPO)), "--specs", MINIMAL]) == 1
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")
    out = capsys.readouterr().out
    assert out == "".join(f"tests/scenarios/{line}\n" for line in expected.splitlines())


def test_a_scenario_for_an_api_without_a_spec_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "tests/scenarios/invalid/wrong_api.yaml"]) == 1
    out = capsys.readouterr().out
    assert "wrong_api.yaml:2: /api: no spec with a lifecycle for this API; found 'other'" in out
    assert "(or give its spec with --specs FILE)" in out


def test_a_spec_and_its_scenario_together_and_the_bundled_folder_are_clean(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["lint", MINIMAL, "tests/scenarios/valid.yaml"]) == 0
    assert "2 file(s) checked, 0 finding(s)" in capsys.readouterr().err
    assert main(["lint", str(bundled_scenarios())]) == 0
    assert "0 finding(s)" in capsys.readouterr().err


def test_a_folder_is_checked_as_serve_would_lay_it_over_the_bundled_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "mine"
    (folder / "letta").mkdir(parents=True)
    shutil.copy(bundled_scenarios() / "letta" / "slow.yaml", folder / "letta" / "also-slow.yaml")
    (folder / "letta" / "typo.yaml").write_text(
        "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: complted\n    after: 1s\n",
        encoding="utf-8",
    )
    (folder / "notes.yaml").write_text("title: not a scenario\n", encoding="utf-8")
    assert main(["lint", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "typo.yaml:5: /steps/1/state: unknown state; found 'complted'" in out
    assert "also-slow.yaml: /match/text_contains: another scenario has the same trigger" in out
    assert "notes.yaml:1: /: neither a spec nor a scenario" in out
    assert out.count("complted") == 1  # each problem once


def test_lint_of_a_missing_folder_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "no/such/folder"]) == 2
    assert "no/such/folder: /: cannot read" in capsys.readouterr().err

"""`comeback scenarios list|show`: the effective scenarios, without looking for them on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from comeback.cli import main
from lifecycle.bundled import bundled_scenarios
from tests.conftest import TEST_SPECS


def test_list_shows_every_bundled_scenario_with_its_default_and_trigger(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenarios", "list"]) == 0
    out = capsys.readouterr().out
    for api in ("chatzy", "invent", "letta", "privategpt"):
        assert f"{api} (default: happy)\n" in out
    assert "  failed " in out
    assert "[#fail]" in out
    assert out.count("\n  ") == sum(1 for _ in bundled_scenarios().glob("*/*.yaml"))


def test_show_prints_the_file_so_it_can_be_copied(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "show", "letta", "failed"]) == 0
    out = capsys.readouterr().out
    first, rest = out.split("\n", 1)
    assert first.startswith("# letta/failed from ")
    assert first.endswith("scenarios/letta/failed.yaml; save as DIR/letta/failed.yaml to change it")
    assert rest == (bundled_scenarios() / "letta" / "failed.yaml").read_text(encoding="utf-8")


def test_list_and_show_see_layers_and_derived_scenarios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "letta").mkdir()
    (tmp_path / "letta" / "mine.yaml").write_text(
        "api: letta\ndescription: Mine.\ndefault: true\nsteps:\n  - state: created\n", encoding="utf-8"
    )
    assert main(["scenarios", "list", "letta", "--scenarios", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("letta (default: mine)\n")
    assert "mine.yaml)" in out
    spec = str(TEST_SPECS / "minimal.yaml")
    assert main(["scenarios", "show", "minimal", "done", "--specs", spec]) == 0
    shown = capsys.readouterr().out
    data = yaml.safe_load(shown)
    assert [step["state"] for step in data["steps"]] == ["queued", "running", "done"]
    assert shown.startswith("# minimal/done from derived from the lifecycle")


def test_unknown_names_are_usage_errors_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scenarios", "show", "letta", "faild"]) == 2
    assert "did you mean 'failed'?" in capsys.readouterr().err
    assert main(["scenarios", "list", "leta"]) == 2
    assert "did you mean 'letta'?" in capsys.readouterr().err

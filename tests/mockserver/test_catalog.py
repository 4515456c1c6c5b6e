"""Start-up refuses bad scenario folders with every finding, located."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from comeback.cli import main
from lifecycle import SourceError
from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.catalog import load_catalog

LETTA_SPEC = next(p for p in bundled_specs() if p.stem == "letta")


def letta_folder(tmp_path: Path) -> Path:
    root = tmp_path / "scenarios"
    shutil.copytree(bundled_scenarios() / "letta", root / "letta")
    return root


def test_bundled_catalog_loads() -> None:
    catalog = load_catalog(bundled_specs(), bundled_scenarios())
    assert {name: api.default for name, api in catalog.items()} == dict.fromkeys(
        ("privategpt", "chatzy", "invent", "letta"), "happy"
    )
    assert all(len(api.scenarios) >= 6 for api in catalog.values())


def test_all_problems_of_a_folder_are_reported_together(tmp_path: Path) -> None:
    root = letta_folder(tmp_path)
    (root / "letta" / "typo.yaml").write_text(
        "api: letta\ndescription: d\nsteps:\n  - state: created\n  - state: complted\n    after: 1s\n",
        encoding="utf-8",
    )
    (root / "letta" / "second-default.yaml").write_text(
        "api: letta\ndescription: d\ndefault: true\nsteps:\n  - state: created\n", encoding="utf-8"
    )
    (root / "letta" / "overlap.yaml").write_text(
        "api: letta\ndescription: d\nmatch: {text_contains: '#FAIL'}\nsteps:\n  - state: created\n",
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as caught:
        load_catalog([LETTA_SPEC], root)
    messages = [str(finding) for finding in caught.value.findings]
    assert any(
        "typo.yaml:5: /steps/1/state: unknown state; found 'complted'" in m
        and "did you mean 'completed'?" in m
        for m in messages
    )
    assert any(
        "overlap.yaml" in m and "another scenario has the same trigger" in m and "'failed'" in m
        for m in messages
    )
    assert any(
        "an API needs exactly one default scenario; found happy, second-default" in m for m in messages
    )


def test_unknown_api_is_named(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as caught:
        load_catalog([LETTA_SPEC], letta_folder(tmp_path), apis=["leta"])
    assert str(caught.value) == "leta: /: unknown API; expected one of 'letta'; did you mean 'letta'?"


def test_serve_prints_the_findings_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = letta_folder(tmp_path)
    (root / "letta" / "happy.yaml").write_text("api: letta\nsteps: []\n", encoding="utf-8")
    assert main(["serve", "--specs", str(LETTA_SPEC), "--scenarios", str(root)]) == 2
    err = capsys.readouterr().err
    assert "happy.yaml:1: /: missing required key; expected 'description'" in err
    assert "nothing started" in err

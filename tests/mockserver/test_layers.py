"""Scenario folders are layers over the bundled set; specs without scenarios get derived ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from comeback.cli import main
from lifecycle import SourceError
from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.app import create_app
from mockserver.catalog import load_apis, load_catalog
from tests.conftest import TEST_SPECS
from tests.mockserver.conftest import AGENT, AUTH, settings

LETTA_SPEC = next(p for p in bundled_specs() if p.stem == "letta")
BUNDLED = bundled_scenarios()


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


SLOW20 = """api: letta
description: Completes after 20 s.
match: {text_contains: "#slow20"}
steps:
  - state: created
  - state: completed
    after: 20s
    set: {stop_reason: end_turn}
"""


def test_a_folder_with_one_file_adds_to_the_bundled_scenarios(tmp_path: Path) -> None:
    write(tmp_path, "letta/slow20.yaml", SLOW20)
    catalog = load_catalog(bundled_specs(), [BUNDLED, tmp_path])
    bundled = load_catalog(bundled_specs(), BUNDLED)
    assert set(catalog["letta"].scenarios) == {*bundled["letta"].scenarios, "slow20"}
    assert catalog["letta"].default == "happy"
    assert catalog["letta"].sources["slow20"].endswith("letta/slow20.yaml")
    assert {name: set(api.scenarios) for name, api in catalog.items() if name != "letta"} == {
        name: set(api.scenarios) for name, api in bundled.items() if name != "letta"
    }


def test_the_same_name_overrides_and_a_user_default_takes_the_default(tmp_path: Path) -> None:
    write(tmp_path, "letta/failed.yaml", SLOW20.replace('"#slow20"', '"#fail"'))
    write(
        tmp_path,
        "letta/mine.yaml",
        "api: letta\ndescription: Mine.\ndefault: true\nsteps:\n  - state: created\n",
    )
    api = load_catalog([LETTA_SPEC], [BUNDLED, tmp_path])["letta"]
    assert api.default == "mine"
    assert [step.after for step in api.scenarios["failed"].steps] == [None, 20.0]
    assert api.sources["failed"].endswith(f"{tmp_path.name}/letta/failed.yaml")
    assert api.sources["happy"].endswith("scenarios/letta/happy.yaml")


def test_later_folders_win(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, "letta/x.yaml", "api: letta\ndescription: First.\nsteps:\n  - state: created\n")
    write(second, "letta/x.yaml", "api: letta\ndescription: Second.\nsteps:\n  - state: created\n")
    api = load_catalog([LETTA_SPEC], [BUNDLED, first, second])["letta"]
    assert api.scenarios["x"].description == "Second."


def test_the_longest_trigger_wins_so_a_user_trigger_may_contain_a_bundled_one(tmp_path: Path) -> None:
    write(tmp_path, "letta/slow20.yaml", SLOW20)
    app = create_app(settings(scenario_layers=(tmp_path,), apis=frozenset({"letta"})))
    with TestClient(app) as client:
        url = f"/v1/agents/{AGENT}/messages/async"
        for text, expected in (("go #slow20 now", "slow20"), ("go #slow now", "slow")):
            body = {"messages": [{"role": "user", "content": text}]}
            run = client.post(url, json=body, headers=AUTH["letta"]).json()
            assert client.get(f"/__mock/resources/letta/{run['id']}").json()["scenario"] == expected


def test_two_scenarios_with_the_same_trigger_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "letta/again.yaml", SLOW20.replace('"#slow20"', '"#SLOW"'))
    with pytest.raises(SourceError) as caught:
        load_catalog([LETTA_SPEC], [BUNDLED, tmp_path])
    assert "again.yaml: /match/text_contains: another scenario has the same trigger" in str(caught.value)
    assert "scenario 'slow'" in str(caught.value)


def test_two_defaults_in_one_folder_are_refused_naming_the_folder(tmp_path: Path) -> None:
    for name in ("a", "b"):
        write(
            tmp_path,
            f"letta/{name}.yaml",
            "api: letta\ndescription: d\ndefault: true\nsteps:\n  - state: created\n",
        )
    with pytest.raises(SourceError) as caught:
        load_catalog([LETTA_SPEC], [BUNDLED, tmp_path])
    assert f"{tmp_path.as_posix()}/letta: /: an API needs exactly one default scenario; found a, b" in str(
        caught.value
    )


def test_layout_mistakes_are_named(tmp_path: Path) -> None:
    write(tmp_path, "stray.yaml", SLOW20)
    write(tmp_path, "leta/x.yaml", SLOW20)
    write(tmp_path, "letta/slow20.yml", SLOW20)
    with pytest.raises(SourceError) as caught:
        load_catalog([LETTA_SPEC], [BUNDLED, tmp_path, tmp_path / "nowhere"])
    text = str(caught.value)
    assert f"{tmp_path.as_posix()}/nowhere: /: scenario folder does not exist" in text
    assert "stray.yaml: /: scenario file outside an API sub-folder; expected " in text
    assert "leta: /: scenario sub-folder names no served API; found 'leta'" in text
    assert "did you mean 'letta'?" in text
    assert (
        "letta/slow20.yml: /: scenario files end in .yaml; found 'slow20.yml'; expected 'slow20.yaml'" in text
    )


def test_serve_names_a_missing_folder_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "my-scenarios"
    assert main(["serve", "--api", "letta", "--scenarios", str(missing)]) == 2
    err = capsys.readouterr().err
    assert f"{missing.as_posix()}: /: scenario folder does not exist" in err
    assert "exactly one default" not in err


def test_only_these_folders_leaves_the_bundled_ones_out(tmp_path: Path) -> None:
    write(
        tmp_path, "letta/only.yaml", "api: letta\ndescription: d\ndefault: true\nsteps:\n  - state: created\n"
    )
    api = load_catalog([LETTA_SPEC], [tmp_path])["letta"]
    assert set(api.scenarios) == {"only"}


def test_a_spec_without_scenarios_gets_derived_ones() -> None:
    catalog, stateless = load_apis([TEST_SPECS / "minimal.yaml"], [BUNDLED])
    api = catalog["minimal"]
    assert not stateless
    assert api.default == "done"
    walks = {name: [step.state for step in s.steps] for name, s in api.scenarios.items()}
    assert walks == {
        "done": ["queued", "running", "done"],
        "cancelled": ["queued", "cancelled"],
        "never-finishes": ["queued"],
    }
    assert [step.after for step in api.scenarios["done"].steps] == [None, 2, 2]
    assert api.sources["done"] == "derived from the lifecycle"


def test_user_files_lie_over_derived_scenarios_too(tmp_path: Path) -> None:
    write(tmp_path, "minimal/quick.yaml", "api: minimal\ndescription: d\nsteps:\n  - state: queued\n")
    catalog, _ = load_apis([TEST_SPECS / "minimal.yaml"], [BUNDLED, tmp_path])
    assert set(catalog["minimal"].scenarios) == {"done", "cancelled", "never-finishes", "quick"}
    assert catalog["minimal"].default == "done"

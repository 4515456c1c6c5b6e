"""The pytest plugin loads scenario files (by path and through the marker), and stays silent in
projects that have the package installed without the ``[test]`` extra, ``-W error`` included."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO

SLOW20 = """api: letta
description: Completes after 20 s.
match: {text_contains: "#slow20"}
steps:
  - state: created
  - state: completed
    after: 20s
    set: {stop_reason: end_turn}
"""
HEADER = """
from pathlib import Path

import pytest

AGENT = "agent-123e4567-e89b-42d3-8456-426614174000"
BEARER = {"Authorization": "Bearer key"}


def create(mock, text="hi"):
    body = {"messages": [{"role": "user", "content": text}]}
    return mock.client.post(f"/v1/agents/{AGENT}/messages/async", json=body, headers=BEARER).json()
"""


def test_scenario_files_by_path_and_through_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", slow20=SLOW20)
    folder = pytester.path / "scenarios" / "letta"
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(
        "api: letta\ndescription: Mine.\ndefault: true\nsteps:\n  - state: created\n", encoding="utf-8"
    )
    pytester.makepyfile(
        HEADER
        + """
@pytest.mark.comeback(apis=["letta"], scenarios=["slow20.yaml"])
def test_a_file_through_the_marker_is_chosen_by_its_trigger(comeback_mock):
    run = create(comeback_mock, "go #slow20")
    comeback_mock.advance(19)
    assert comeback_mock.state("letta", run["id"]) == "created"
    comeback_mock.advance(1)
    assert comeback_mock.state("letta", run["id"]) == "completed"


@pytest.mark.comeback(apis=["letta"], scenarios=["scenarios"])
def test_a_folder_through_the_marker_lies_over_the_bundled_set(comeback_mock):
    run = create(comeback_mock)
    assert comeback_mock.client.get(f"/__mock/resources/letta/{run['id']}").json()["scenario"] == "mine"
    assert "failed" in comeback_mock.engine.catalog["letta"].scenarios


def test_a_file_by_path(comeback_mock):
    comeback_mock.next_scenario("letta", Path(__file__).parent / "slow20.yaml")
    run = create(comeback_mock)
    comeback_mock.advance(20)
    assert comeback_mock.state("letta", run["id"]) == "completed"
    added = comeback_mock.add_scenario(Path(__file__).parent / "slow20.yaml")
    assert added.name == "slow20"
    assert comeback_mock.client.get("/__mock/scenarios/letta/slow20").status_code == 200
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_a_broken_scenario_file_fails_with_the_located_finding(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", typo=SLOW20.replace("state: completed", "state: complted"))
    pytester.makepyfile(
        HEADER
        + """
def test_broken(comeback_mock):
    comeback_mock.load_scenario(Path(__file__).parent / "typo.yaml")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*typo.yaml:6: /steps/1/state: unknown state; found 'complted'*"])


# what the [test] extra adds: none of it may be needed by the plugin of a project's test run
TEST_EXTRA = ("httpx2", "httpx_sse", "xdist", "pytest_xdist", "mypy", "ruff", "types_", "_editable_impl_")


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs the test run's virtual environment")
def test_installed_without_the_test_extra_pytest_runs_clean_under_w_error(tmp_path: Path) -> None:
    """A fresh venv gets the package built from this checkout (offline, no dependencies fetched) and
    sees the runtime dependencies through a folder of links to this venv's packages, minus the
    ``[test]`` extra (httpx2 above all) and minus this checkout's editable install."""
    parent = Path(sysconfig.get_paths()["purelib"])
    deps = tmp_path / "deps"
    deps.mkdir()
    for entry in parent.iterdir():
        name = entry.name.lower()
        if entry.suffix == ".pth" or name.startswith(("comeback", *TEST_EXTRA)) or name == "__pycache__":
            continue
        (deps / entry.name).symlink_to(entry)
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True)  # type: ignore[attr-defined]
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "runtime_deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(REPO),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    probe = "import importlib.util as u, comeback; print(u.find_spec('httpx2'), comeback.__file__)"
    found = subprocess.run(
        [python, "-c", probe], capture_output=True, text=True, env=env, check=True, cwd=tmp_path
    )
    assert found.stdout.startswith("None ")  # no httpx2 ...
    assert str(venv) in found.stdout  # ... and the installed package, not this checkout
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_unrelated.py").write_text("def test_ok():\n    assert True\n", encoding="utf-8")
    (project / "test_uses_the_mock.py").write_text(
        HEADER
        + "\n\ndef test_mock(comeback_mock):\n    assert create(comeback_mock)['status'] == 'created'\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [python, "-m", "pytest", "-W", "error", "-p", "no:cacheprovider", "-q", "-rA"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in output
    assert "arning" not in output  # neither "Warning" nor "warning"

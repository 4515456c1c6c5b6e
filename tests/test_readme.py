"""The README's quickstart and walk-throughs are true: the commands run and print what is shown."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from comeback.testing import START
from lifecycle.bundled import bundled_scenarios
from mockserver.app import create_app
from mockserver.catalog import load_apis
from mockserver.servers import free_port
from mockserver.servers import serve_in_thread as serve
from mockserver.settings import Settings
from tests.conftest import REPO
from tests.mockserver.conftest import settings
from tests.recorder.test_readme import run_script

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = [block for block in re.findall(r"```sh\n(.*?)```", README, re.S) if "#=>" in block]
OWN_API = README.split("## Mock your own async API", 1)[1].split("\n## ", 1)[0]
EXAMPLES = re.findall(
    r"```python\n(.*?)```", README.split("## Testing your client", 1)[1].split("\n## ", 1)[0], re.S
)


def test_quickstart_has_exactly_two_commands_and_ci_runs_the_test_line() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2
    assert commands[0].endswith("comeback serve")
    ci = [
        line
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert ci == [commands[1]]


def test_there_are_walkthroughs_for_each_api() -> None:
    assert len(BLOCKS) == 5  # one per API, and the journal's


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-throughs use curl")
def test_walkthroughs_print_what_the_readme_shows() -> None:
    with serve(create_app(settings())) as base:
        for block in BLOCKS:
            assert "127.0.0.1:8000" not in block  # the port is $PORT, which the reader may set
            run_and_match(block, port=port_of(base))


def port_of(base: str) -> str:
    return base.rsplit(":", 1)[1]


def run_and_match(script: str, cwd: Path | None = None, port: str | None = None) -> None:
    """Run a README block with bash (``PORT`` set to the mock's port); its output must show every
    ``#=>`` line, in order."""
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
        env={**os.environ, "PORT": port} if port else None,
    )
    assert result.returncode == 0, f"{script}\n--- stderr:\n{result.stderr}"
    position = 0
    for expected in re.findall(r"^#=> (.*)$", script, re.M):
        found = result.stdout.find(expected, position)
        assert found >= 0, f"expected {expected!r} after position {position} in:\n{result.stdout}"
        position = found + len(expected)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_own_api_walkthrough_prints_what_the_readme_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drafting, serving = re.findall(r"```console\n(.*?)```", OWN_API, re.S)
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    run_and_match(drafting.replace(".venv/bin/comeback", f"{sys.executable} -m comeback.cli"), tmp_path)
    spec = tmp_path / "reports.yaml"
    chosen = Settings((spec,), scenario_dir=bundled_scenarios(), clock="manual", start_time=START)
    with serve(create_app(chosen)) as base:
        run_and_match(serving, tmp_path, port=port_of(base))
    # the one line a spec without x-lifecycle gets, exactly as the README shows it
    monkeypatch.chdir(REPO)
    _, stateless = load_apis([Path("examples/report-export.yaml")], None)
    assert f"```\n{stateless['report-export'].notice}\n```" in OWN_API


def test_testing_your_client_examples_are_tests_that_pass(pytester: pytest.Pytester) -> None:
    assert EXAMPLES
    for number, example in enumerate(EXAMPLES):
        pytester.makepyfile(**{f"test_readme_example_{number}": example})
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(example.count("\ndef test_") for example in EXAMPLES))


RECORDING = README.split("## Record a real server", 1)[1].split("\n## ", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the walk-through uses curl")
def test_the_recording_walkthrough_stops_instead_of_hanging_when_a_port_is_taken(tmp_path: Path) -> None:
    """Another program on the proxy's port (here a socket that never answers): the walk-through's
    bounded wait gives up with a message that names the port and the variable to set."""
    recording = re.findall(r"```sh\n(.*?)```", RECORDING, re.S)[0]
    (tmp_path / "openapi").symlink_to(REPO / "openapi")
    script = recording.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
    script = f"set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        ports = {"PORT": str(free_port()), "RECORD_PORT": str(taken.getsockname()[1])}
        result = run_script(script, tmp_path, ports)  # fails the test if it hangs (90 s)
    assert result.returncode != 0
    assert f"no recorder on port {ports['RECORD_PORT']} (taken? set RECORD_PORT)" in result.stderr


def test_the_lint_coverage_example_prints_what_the_readme_shows() -> None:
    section = README.split("## Linting specs and scenarios", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```sh\n(\S+ lint --coverage \S+)\n```\n\n```text\n(.*?)```", section, re.S)
    assert found is not None, "the README shows `comeback lint --coverage` and its output"
    command, shown = found.groups()
    result = subprocess.run(
        [sys.executable, "-m", "comeback.cli", *command.split()[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown

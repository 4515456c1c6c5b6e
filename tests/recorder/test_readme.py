"""The README's "Record a real server" commands run as shown (real processes, real time) and print
what the README says, with free ports in PORT, RECORD_PORT and REPLAY_PORT."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lifecycle.scenario import scenario_from_data
from mockserver.servers import free_port
from tests.conftest import REPO
from tests.recorder.conftest import spec_of

SECTION = (
    (REPO / "README.md")
    .read_text(encoding="utf-8")
    .split("## Record a real server", 1)[1]
    .split("\n## ", 1)[0]
)
BLOCKS = re.findall(r"```sh\n(.*?)```", SECTION, re.S)


def run_script(script: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in its own process group, so a timeout stops the servers it started too."""
    child = subprocess.Popen(
        ["bash", "-c", script],
        cwd=folder,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = child.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        stdout, stderr = child.communicate()
        pytest.fail(f"timed out after 90 s:\n{script}\n--- stdout:\n{stdout}\n--- stderr:\n{stderr}")
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def test_the_section_shows_recording_and_replaying() -> None:
    assert len(BLOCKS) == 2
    assert "comeback record openapi/privategpt.yaml --target" in BLOCKS[0]
    assert "--scenarios recorded" in BLOCKS[1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the commands use curl")
def test_the_commands_print_what_the_readme_shows(tmp_path: Path) -> None:
    (tmp_path / "openapi").symlink_to(REPO / "openapi")
    # the README's ports are configurable: free ones here (8000-8002 may be taken on this machine)
    ports = {name: str(free_port()) for name in ("PORT", "RECORD_PORT", "REPLAY_PORT")}
    bin_dir = Path(sys.executable).parent
    for block in BLOCKS:
        script = block.replace(".venv/bin/", f"{bin_dir}/")
        # a failing command stops the block; background servers are stopped whatever happens
        script = f"set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}"
        result = run_script(script, tmp_path, ports)
        assert result.returncode == 0, f"{block}\n--- stdout:\n{result.stdout}\n--- stderr:\n{result.stderr}"
        position = 0
        for shown in re.findall(r"^# -> (.*)$", block, re.M):
            expected = shown.replace("127.0.0.1:$PORT", f"127.0.0.1:{ports['PORT']}")
            found = result.stdout.find(expected, position)
            assert found >= 0, f"expected {expected!r} after position {position} in:\n{result.stdout}"
            position = found + len(expected)


def test_the_recorded_parts_the_readme_shows_load_as_a_scenario() -> None:
    """The README's example of answers, reactions, formats and timing is a valid scenario part."""
    block = SECTION.split("server did in the whole session", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    data = yaml.safe_load(block)
    data.update(api="letta", description="x", deviations=["naive-completed-at"], steps=[{"state": "created"}])
    scenario = scenario_from_data(data, "README.md", spec_of("letta").lifecycle, name="readme")
    assert [reaction.action for reaction in scenario.reactions] == ["cancel", "delete"]
    assert scenario.answers["retrieveStreamForRun"].connection == "drop"

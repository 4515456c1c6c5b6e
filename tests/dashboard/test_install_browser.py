"""tools/install-browser.sh: valid shell, and a no-op where the browser is already installed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "tools" / "install-browser.sh"


def test_the_script_parses() -> None:
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="would install Chromium")
def test_with_chromium_present_it_does_nothing() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=10, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_ci_runs_it_before_the_tests() -> None:
    line = (REPO / ".ci" / "run").read_text().splitlines()[-1]
    assert line.index("bash tools/install-browser.sh") < line.index("pytest")

"""The README's quickstart and walk-throughs are true: the commands run and print what is shown."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from mockserver.app import create_app
from mockserver.servers import serve_in_thread as serve
from tests.conftest import REPO
from tests.mockserver.conftest import settings

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = [block for block in re.findall(r"```sh\n(.*?)```", README, re.S) if "#=>" in block]
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
            script = "set -euo pipefail\n" + block.replace("http://127.0.0.1:8000", base)
            result = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
            )
            assert result.returncode == 0, f"{block}\n--- stderr:\n{result.stderr}"
            position = 0
            for expected in re.findall(r"^#=> (.*)$", block, re.M):
                found = result.stdout.find(expected, position)
                assert found >= 0, f"expected {expected!r} after position {position} in:\n{result.stdout}"
                position = found + len(expected)


def test_testing_your_client_examples_are_tests_that_pass(pytester: pytest.Pytester) -> None:
    assert EXAMPLES
    for number, example in enumerate(EXAMPLES):
        pytester.makepyfile(**{f"test_readme_example_{number}": example})
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=sum(example.count("\ndef test_") for example in EXAMPLES))

"""The kit against the mock: every bundled scenario that terminates, all four APIs, zero violations."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from comeback.cli import main
from comeback.testing import bundled_catalog
from contracts.phases import PHASES
from contracts.run import check
from lifecycle.bundled import bundled_specs
from mockserver.app import create_app, default_settings
from mockserver.servers import serve_in_thread
from tests.contracts.budgets import AT_SPEED, CONFORMANCE_SECONDS, unreached_conformance

SPECS = {path.stem: path for path in bundled_specs()}
TOKEN = "contract-token"  # the mock accepts only this, so the kit's invalid-credential checks can pass
HEADERS = {
    "privategpt": {"Authorization": TOKEN},
    "letta": {"Authorization": f"Bearer {TOKEN}"},
    "invent": {"Authorization": f"Bearer {TOKEN}"},
    "chatzy": {},
}


def terminating() -> list[tuple[str, str]]:
    """(api, scenario) for every bundled scenario whose last step is terminal."""
    return [
        (api, name)
        for api, served in sorted(bundled_catalog().items())
        for name, scenario in sorted(served.scenarios.items())
        if served.spec.lifecycle.states[scenario.steps[-1].state].terminal
    ]


@pytest.fixture(scope="module")
def mock_url() -> Iterator[str]:
    # 20 times faster: the slowest bundled scenario (about 30 s) takes 1.5 s
    settings = replace(
        default_settings(), speed=20.0, strict=True, token=TOKEN, callback_hosts=frozenset({"127.0.0.1"})
    )
    with serve_in_thread(create_app(settings, catalog=bundled_catalog())) as url:
        yield url


@pytest.mark.parametrize(("api", "scenario"), terminating(), ids=[f"{a}-{s}" for a, s in terminating()])
def test_the_mock_keeps_its_contract_in_every_terminating_scenario(
    mock_url: str, api: str, scenario: str
) -> None:
    httpx.put(f"{mock_url}/__mock/scenarios/{api}/default", json={"name": scenario}).raise_for_status()
    report = check(
        SPECS[api],
        mock_url,
        headers=HEADERS[api],
        phases=("lifecycle",),
        options=AT_SPEED,
    )
    assert report.violations == [], report.summary()


def test_the_kit_runs_as_a_pytest_suite(mock_url: str, pytester: pytest.Pytester) -> None:
    httpx.put(f"{mock_url}/__mock/scenarios/letta/default", json={"name": "happy"}).raise_for_status()
    folder = Path(__file__).resolve().parents[2] / "contracts"
    arguments = [
        str(folder),
        "--spec",
        str(SPECS["letta"]),
        "--base-url",
        mock_url,
        "--header",
        f"Authorization: Bearer {TOKEN}",
    ]
    result = pytester.runpytest_subprocess(
        *arguments, "-p", "no:cacheprovider", "--examples", "5", "--max-time", "8"
    )
    result.assert_outcomes(passed=len(PHASES))  # one test per phase


def test_the_pytest_suite_skips_without_a_target(pytester: pytest.Pytester) -> None:
    folder = Path(__file__).resolve().parents[2] / "contracts"
    result = pytester.runpytest_subprocess(str(folder), "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=len(PHASES))


README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
README_CHECKS = [
    line
    for block in re.findall(r"```sh\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if line.startswith(".venv/bin/comeback check ") and "8000" in line
]


@pytest.mark.parametrize("command", README_CHECKS, ids=[c.split()[2] for c in README_CHECKS])
def test_the_readme_check_commands_pass_against_the_quickstart_serve(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The quickstart's `comeback serve` (its defaults: any credential, real clock) on a free port;
    the JUnit file has no failure and its counts add up."""
    settings = replace(default_settings(), callback_hosts=frozenset({"127.0.0.1"}))
    junit, data = tmp_path / "report.xml", tmp_path / "report.json"
    with serve_in_thread(create_app(settings, catalog=bundled_catalog())) as url:
        arguments = shlex.split(command.replace("http://127.0.0.1:8000", url))[1:]
        budget = [*("--examples", "5", "--max-time", str(CONFORMANCE_SECONDS))]
        code = main([*arguments, "--quiet", *budget, "--junit", str(junit), "--report-json", str(data)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.splitlines()[-1].startswith("0 violation(s)")
    assert unreached_conformance(data) == []
    xml = junit.read_text(encoding="utf-8")
    api = Path(arguments[1]).stem
    assert f'testsuite name="comeback.{api}"' in xml
    assert "<failure" not in xml
    assert 'failures="0"' in xml


def test_the_readme_shows_a_check_command_for_each_api() -> None:
    assert sorted(c.split()[2] for c in README_CHECKS) == sorted(f"openapi/{api}.yaml" for api in SPECS)

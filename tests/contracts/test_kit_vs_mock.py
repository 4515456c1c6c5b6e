"""The kit against the mock: every bundled scenario that terminates, all four APIs, zero violations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from comeback.cli import main
from comeback.testing import bundled_catalog
from contracts.probes import Options
from contracts.run import check
from lifecycle.bundled import bundled_specs
from mockserver.app import create_app, default_settings
from mockserver.servers import serve_in_thread

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
        options=Options(resources=1, deadline=10),
    )
    assert report.violations == [], report.summary()


@pytest.mark.parametrize("api", sorted(SPECS))
def test_check_command_against_the_mock_writes_junit_and_exits_0(
    mock_url: str, api: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    httpx.put(f"{mock_url}/__mock/scenarios/{api}/default", json={"name": "happy"}).raise_for_status()
    headers = [f"{name}: {value}" for name, value in HEADERS[api].items()]
    junit = tmp_path / "report.xml"
    arguments = ["check", str(SPECS[api]), "--base-url", mock_url, "--junit", str(junit), "--resources", "2"]
    for header in headers:
        arguments += ["--header", header]
    assert main(arguments) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("0 violation(s)")
    xml = junit.read_text(encoding="utf-8")
    assert xml.startswith("<?xml")
    assert f'testsuite name="comeback.{api}"' in xml
    assert "<failure" not in xml


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
    result = pytester.runpytest_subprocess(*arguments, "-p", "no:cacheprovider", "--examples", "5")
    result.assert_outcomes(passed=6)


def test_the_pytest_suite_skips_without_a_target(pytester: pytest.Pytester) -> None:
    folder = Path(__file__).resolve().parents[2] / "contracts"
    result = pytester.runpytest_subprocess(str(folder), "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=6)

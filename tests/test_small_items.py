"""What new users tripped over in the command line and the logs (issue 25, item 7; item 5)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from comeback.cli import main
from comeback.init_command import render
from comeback.testing import MockServer
from lifecycle.draft import draft_lifecycle
from mockserver.app import create_app
from mockserver.reload import Reloader
from tests.conftest import REPO
from tests.dashboard.clients import AUTH
from tests.dashboard.test_events import run
from tests.mockserver.conftest import settings

EXAMPLE = REPO / "examples" / "report-export.yaml"
OCR = REPO / "tests" / "own_specs" / "ocr.yaml"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens


def test_lint_of_a_spec_without_a_lifecycle_is_clean_and_points_to_init(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["lint", "examples/report-export.yaml"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # no finding
    assert "examples/report-export.yaml: note: no x-lifecycle block" in captured.err
    assert "draft one with: comeback init examples/report-export.yaml" in captured.err


def test_check_prints_its_error_once_on_stderr_and_takes_a_bundled_api_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no file named privategpt here: the bundled API is meant
    assert main(["check", "privategpt", "--base-url", CLOSED, "--phase", "lifecycle", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert "comeback check: privategpt" in captured.out  # the bundled spec was loaded
    assert "unreachable" not in captured.out
    assert captured.err.count("is unreachable") == 1


@pytest.mark.parametrize("command", ["lint", "scenarios", "init"])
def test_help_has_no_restructuredtext_backticks(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    shown = capsys.readouterr().out
    assert "``" not in shown
    assert len(shown) > 200


def test_init_mentions_no_cancel_for_an_api_without_one() -> None:
    text = render(draft_lifecycle(yaml.safe_load(OCR.read_text(encoding="utf-8"))))
    assert "cancel" not in text.lower()
    example = render(draft_lifecycle(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))))
    assert "# guess: the working states in enum order, then any end; 'cancelled' at any time" in example


def test_an_unknown_scenario_name_gets_a_did_you_mean() -> None:
    with MockServer.start(apis=["privategpt"]) as mock:
        body = {"model": "default", "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]}
        headers = {**AUTH["privategpt"], "X-Mock-Scenario": "hapy"}
        answer = mock.client.post("/v1/messages/async", json=body, headers=headers)
    assert answer.status_code == 400
    assert "did you mean 'happy'?" in answer.text


def test_a_broken_scenario_file_fixed_back_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="comeback.reload")
    path = tmp_path / "letta" / "mine.yaml"
    path.parent.mkdir()
    good = "api: letta\ndescription: Mine.\nsteps:\n  - state: created\n  - state: completed\n    after: 1s\n"
    good += "    set: {stop_reason: end_turn}\n"
    path.write_text(good, encoding="utf-8")
    engine = create_app(settings(apis=frozenset({"letta"}), scenario_layers=(tmp_path,))).state.engine
    reloader = Reloader(engine)

    async def scenario() -> None:
        path.write_text(good.replace("completed", "complted"), encoding="utf-8")
        assert await reloader.reload()  # broken: the previous version stays in use
        caplog.clear()
        path.write_text(good, encoding="utf-8")  # back as it was: nothing to swap, but say it is fixed
        assert await reloader.reload() == []
        assert "the problems are fixed: every file is in use as written" in caplog.text
        caplog.clear()
        assert await reloader.reload() == []
        assert "fixed" not in caplog.text  # said once, not on every reload

    run(scenario)

"""``comeback record``: options with their defaults, usage errors, and a real session on real time
that SIGTERM ends by writing what was recorded, unfinished resources included."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from comeback.cli import main
from tests.conftest import SPECS
from tests.recorder.conftest import mock_process, record_process


def test_help_shows_every_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["record", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in (
        "(default: 127.0.0.1)",
        "(default: 8001)",
        "(default: recorded)",
        "(default: off,",
        "(default: info)",
    ):
        assert default in shown


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--poll", "fast"], "--poll: not a duration: 'fast'"),
        (["--poll", "0ms"], "--poll must be positive"),
        (["--target", "ftp://host"], "--target must be an http(s) URL"),
    ],
)
def test_usage_errors_exit_2(arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    command = ["record", str(SPECS / "letta.yaml"), "--target", "http://127.0.0.1:9", *arguments]
    assert main(command) == 2
    assert message in capsys.readouterr().err


def test_a_spec_that_cannot_be_read_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["record", str(tmp_path / "missing.yaml"), "--target", "http://127.0.0.1:9"]) == 2
    assert "cannot read" in capsys.readouterr().err


def read_stream(url: str) -> None:
    with (
        contextlib.suppress(httpx.HTTPError),
        httpx.stream("GET", url, headers={"Authorization": "secret"}) as stream,
    ):
        for _ in stream.iter_bytes():
            pass


def test_sigterm_writes_what_was_recorded_even_unfinished(tmp_path: Path) -> None:
    out = tmp_path / "recorded"
    body = {"model": "default", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi #never"}]}
    headers = {"Authorization": "secret"}
    with (
        mock_process() as target,
        record_process(SPECS / "privategpt.yaml", target, out, "--poll", "50ms") as proxy,
    ):
        message = httpx.post(f"{proxy}/v1/messages/async", json=body, headers=headers).json()["message_id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{proxy}/__record/recordings").json()[0]["state"] != "processing":
            assert time.monotonic() < deadline, "the recorder's own polling never saw processing"
            time.sleep(0.05)
        flushed = httpx.post(f"{proxy}/__record/flush", json={}).json()
        assert flushed["written"] == []  # still in flight: written on exit, or with {"unfinished": true}
        # a client still reading the (endless) stream must not keep the recorder from exiting and writing
        reader = threading.Thread(target=read_stream, args=(f"{proxy}/v1/messages/async/{message}/stream",))
        reader.start()
        time.sleep(0.5)
    reader.join(timeout=30)
    assert not reader.is_alive()
    (written,) = (out / "privategpt").glob("recorded-processing-*.yaml")
    data = yaml.safe_load(written.read_text(encoding="utf-8"))
    assert [step["state"] for step in data["steps"]] == ["pending", "processing"]
    assert message not in written.read_text(encoding="utf-8")  # ids are not part of a scenario

"""--workers: several uvicorn processes, each a whole mock built from the same settings."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.procs import server
from comeback.cli import main
from mockserver import serving
from mockserver.app import default_settings
from mockserver.settings import settings_from_json, settings_to_json


def test_settings_travel_to_workers_unchanged() -> None:
    settings = replace(
        default_settings(),
        apis=frozenset({"letta"}),
        token="t",
        seed=4,
        callback_hosts=frozenset({"127.0.0.1"}),
        scenario_layers=(Path("mine"), Path("theirs")),
        watch=True,
    )
    assert settings_from_json(settings_to_json(settings)) == settings


def test_two_workers_serve_and_each_keeps_its_own_state() -> None:
    command = [
        sys.executable,
        "-m",
        "comeback.cli",
        "serve",
        "--port",
        "{port}",
        "--workers",
        "2",
        "--no-auth",
        "--log-level",
        "warning",
    ]
    with server(command, "/__mock/clock") as mock:
        answers = [httpx.get(f"{mock.url}/v1/runs/") for _ in range(6)]
        assert {answer.status_code for answer in answers} == {200}
        created = httpx.post(
            f"{mock.url}/v1/agents/agent-123e4567-e89b-42d3-8456-426614174000/messages/async",
            json={"input": "hi"},
        )
        assert created.status_code == 200


def test_store_memory_is_the_default_and_a_bad_store_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "(default: memory)" in " ".join(_serve_help().split())
    with pytest.raises(SystemExit) as stopped:  # refused as the command line is read (store_option)
        main(["serve", "--store", "postgres://db", "--port", "0"])
    assert stopped.value.code == 2
    assert "--store 'postgres://db': unknown store 'postgres'" in capsys.readouterr().err


def test_workers_on_the_memory_store_point_to_a_shared_store(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(serving, "run_workers", lambda *args, **options: started.append(options))
    assert main(["serve", "--workers", "2", "--port", "0", "--api", "letta"]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "2 workers with --store memory, each with its OWN resources" in printed
    assert "--store redis://127.0.0.1:6379/0" in printed
    assert started[0]["workers"] == 2


def _serve_help() -> str:
    command = [sys.executable, "-m", "comeback.cli", "serve", "--help"]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout

"""--workers: several uvicorn processes, each a whole mock built from the same settings."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import httpx

from bench.procs import server
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

"""``--store``: memory or a validated redis:// URL; shown in --help; checked before serving."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from comeback.cli import main
from mockserver.app import default_settings
from mockserver.servers import free_port
from mockserver.settings import settings_from_json, settings_to_json
from mockserver.state.store_url import RedisLocation, StoreUrlError, parse_store
from tests.conftest import REPO
from tools.redis_server import RedisServer


@pytest.mark.parametrize(
    ("text", "location"),
    [
        ("memory", None),
        ("redis://127.0.0.1:6380/2", RedisLocation("127.0.0.1", 6380, 2)),
        ("redis://localhost", RedisLocation("localhost", 6379, 0)),
        ("redis://[::1]:7000/", RedisLocation("::1", 7000, 0)),
        ("redis://me:s%40cret@127.0.0.1:1/0", RedisLocation("127.0.0.1", 1, 0, "me", "s@cret")),
    ],
)
def test_store_values_that_parse(text: str, location: RedisLocation | None) -> None:
    assert parse_store(text) == location


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("redis", "unknown store 'redis'"),
        ("mysql://h/0", "unknown store 'mysql'"),
        ("rediss://h:1/0", "TLS (rediss://) is not supported"),
        ("redis://", "no host"),
        ("redis://h:99999/0", "Port out of range"),
        ("redis://h:1/zero", "database 'zero' is not a number"),
        ("redis://h:1/0?ssl=true", "options after '?'"),
    ],
)
def test_store_values_that_do_not_parse_say_why(text: str, said: str) -> None:
    with pytest.raises(StoreUrlError, match="expected 'memory' or redis://HOST:PORT/DB") as caught:
        parse_store(text)
    assert said in str(caught.value)


def test_the_password_is_never_shown() -> None:
    location = parse_store("redis://me:hunter2@127.0.0.1:1/3")
    assert location is not None
    assert location.shown == "redis://me:***@127.0.0.1:1/3"


def test_help_shows_the_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "comeback.cli", "serve", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--store URL" in result.stdout
    assert "(default: memory)" in " ".join(result.stdout.split())


def test_a_bad_url_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["serve", "--store", "redis://h:1/zero"])
    assert stopped.value.code == 2
    assert "argument --store: --store 'redis://h:1/zero': database 'zero'" in capsys.readouterr().err


def test_an_unreachable_store_is_exit_2_naming_the_url(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    assert main(["serve", "--store", url, "--port", str(free_port())]) == 2
    error = capsys.readouterr().err
    assert f"comeback serve: the store {url} is unreachable" in error
    assert "nothing started" in error


def test_a_reachable_store_passes_the_check(redis_server: RedisServer) -> None:
    from comeback.store_option import check  # noqa: PLC0415

    assert check(redis_server.url) is None
    assert check("memory") is None


def test_the_store_travels_to_worker_processes() -> None:
    settings = replace(default_settings(), store="redis://127.0.0.1:6379/4")
    assert settings_from_json(settings_to_json(settings)) == settings

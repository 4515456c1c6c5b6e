"""The project's own Redis for the tests: installed by its script, started and stopped on a free port."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO
from tools.redis_server import RedisServer, ping, redis_binary

SCRIPT = REPO / "tools" / "install-redis.sh"


@pytest.mark.parametrize("script", [SCRIPT, REPO / "tools" / "apt-install.sh"])
def test_the_install_scripts_parse(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(redis_binary() is None, reason="would install redis-server")
def test_with_redis_present_the_script_does_nothing() -> None:
    result = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=10, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_ci_installs_redis_before_the_tests() -> None:
    line = (REPO / ".ci" / "run").read_text().splitlines()[-1]
    assert line.index("bash tools/install-redis.sh") < line.index("pytest")


def test_a_server_answers_then_stops_then_starts_again_on_its_port(own_redis: RedisServer) -> None:
    assert ping(own_redis.port)
    assert own_redis.url == f"redis://127.0.0.1:{own_redis.port}/0"
    own_redis.stop()
    assert not ping(own_redis.port)
    own_redis.start()
    assert ping(own_redis.port)

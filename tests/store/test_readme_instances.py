"""The README's "Several instances, one mock" block runs and prints what it shows (on the test's own
Redis and free ports instead of 6379, 8001 and 8002)."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from mockserver.servers import free_port
from tests.conftest import REPO
from tests.test_readme import run_and_match
from tools.redis_server import RedisServer

SECTION = (REPO / "README.md").read_text(encoding="utf-8").split("### Several instances, one mock", 1)[1]
(BLOCK,) = re.findall(r"```shell\n(.*?)```", SECTION.split("\n## ", 1)[0], re.S)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the block uses curl")
def test_the_two_instances_block_prints_what_the_readme_shows(redis_server: RedisServer) -> None:
    script = BLOCK.split("\n", 1)[1]  # the test's Redis is running already: not the first line
    assert BLOCK.startswith("redis-server --port 6379")
    script = script.replace("redis://127.0.0.1:6379/0", redis_server.url)
    script = script.replace(".venv/bin/comeback", f"{sys.executable} -m comeback.cli")
    first, second = free_port(), free_port()
    script = script.replace("8001", str(first)).replace("8002", str(second))
    run_and_match(script, REPO)

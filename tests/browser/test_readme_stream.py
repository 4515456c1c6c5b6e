"""The README's browser snippet reads a PrivateGPT stream with fetch() in Chromium, as written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from comeback.testing import MockServer
from tests.browser.conftest import create_message
from tests.conftest import REPO

SECTION = (REPO / "README.md").read_text(encoding="utf-8").split("#### Reading a stream in a browser", 1)[1]
SNIPPET = re.findall(r"```js\n(.*?)```", SECTION, re.S)[0]


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A real clock, faster: the snippet waits for the stream's end, which time brings."""
    with MockServer.start(port=True, clock="real", speed=4.0) as server:
        yield server


def test_the_readme_snippet_reads_a_stream_with_fetch(page: Any, mock: MockServer) -> None:
    message = create_message(mock)
    logged: list[str] = []
    page.on("console", lambda entry: logged.append(entry.text) if entry.type == "log" else None)
    script = SNIPPET.replace("http://127.0.0.1:8000", mock.url)
    page.evaluate(f"async () => {{ const messageId = {message!r}; {script} }}")
    events = [line.split(" ", 1)[0] for line in logged]
    assert events[0] == "message_start"
    assert events[-1] == "message_stop"
    assert "content_block_delta" in events
    assert any('"text_delta"' in line for line in logged)

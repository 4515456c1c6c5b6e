"""A stream's journal entry is shown as a stream (open, then how long it lasted), not as the
fraction of a millisecond its response took to start."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import httpx
from playwright.sync_api import expect

from comeback.testing import MockServer
from tests.browser.conftest import create_message
from tests.dashboard.clients import AUTH


def test_a_25_second_stream_shows_as_open_then_25_seconds(page: Any, mock: MockServer) -> None:
    long = mock.scenario(
        "privategpt",
        [
            {"state": "pending"},
            {"state": "processing", "after": "1s"},
            {"state": "completed", "after": "24s"},
        ],
        name="long",
    )
    mock.next_scenario("privategpt", long)
    message = create_message(mock)

    def read() -> None:
        with (
            httpx.Client(base_url=mock.url, timeout=30) as client,
            client.stream("GET", f"/v1/messages/async/{message}/stream", headers=AUTH["privategpt"]) as r,
        ):
            for _ in r.iter_lines():
                pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while not mock.journal.of("streamAsyncMessage"):
        assert time.monotonic() < deadline, "the stream was not opened"
        time.sleep(0.02)
    page.click('.tab[data-view="journal"]')
    latency = page.locator("#journal tbody tr").first.locator("td.latency")
    expect(latency).to_have_text("stream open")
    opened = re.compile(r"^opened in \d+\.\d ms; lasts until its resource ends$")
    expect(latency).to_have_attribute("title", opened)
    mock.advance(25)
    reader.join(10)
    assert not reader.is_alive()
    expect(latency).to_have_text("stream 25s")

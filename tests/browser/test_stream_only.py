"""A resource that a client only streams (nobody polls it) walks to its end in the dashboard, and
the end is drawn as what it was: a success, a failure or a cancel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from comeback.testing import MockServer
from tests.browser.conftest import SCREENSHOTS, create_message, row
from tests.dashboard.clients import AUTH

SPEED = 4.0  # the happy scenario takes 3 s of mock time: under a second here


@pytest.fixture
def mock() -> Iterator[MockServer]:
    """A real clock this time: the stream's own loop must be what moves the timeline."""
    with MockServer.start(port=True, clock="real", speed=SPEED) as server:
        yield server


def stream_in_background(mock: MockServer, message: str) -> threading.Thread:
    """Read the message's whole SSE stream in a thread, the way a frontend's stream-only client does."""
    frames: list[str] = []

    def read() -> None:
        path = f"/v1/messages/async/{message}/stream"
        with (
            httpx.Client(base_url=mock.url, timeout=30) as client,
            client.stream("GET", path, headers=AUTH["privategpt"]) as response,
        ):
            frames.extend(response.iter_lines())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def test_a_stream_only_resource_reaches_its_end_coloured_by_kind(page: Any, mock: MockServer) -> None:
    happy = create_message(mock)
    failing = create_message(mock, scenario="error")
    readers = [stream_in_background(mock, happy), stream_in_background(mock, failing)]
    done, failed = row(page, "privategpt", happy), row(page, "privategpt", failing)
    expect(done.locator("td.state")).to_have_text("completed", timeout=15_000)
    expect(failed.locator("td.state")).to_have_text("error", timeout=15_000)
    for reader in readers:
        reader.join(15)
        assert not reader.is_alive(), "the stream did not end with its resource"
    # nobody polled: every state change came from the stream's own loop and reached the page
    assert [entry.operation for entry in mock.journal] == ["createAsyncMessage", "createAsyncMessage"] + [
        "streamAsyncMessage"
    ] * 2
    expect(done.locator("td.state")).to_have_class("state terminal kind-success")
    expect(failed.locator("td.state")).to_have_class("state terminal kind-failure")
    assert _colour(done.locator("td.state")) != _colour(failed.locator("td.state"))
    expect(done.locator("td.next")).to_have_text("—")
    failed.click()
    expect(page.locator("#detail-state")).to_have_text("error")
    expect(page.locator("#detail-state")).to_have_class("state terminal kind-failure")
    expect(page.locator("#detail-state")).to_have_attribute("title", "terminal: failed")
    expect(page.locator("#detail-history tbody tr")).to_have_count(3)
    # the end state has its own segment on the finished timeline, in the failure colour
    end = page.locator("#detail-chart g.segment.past.terminal.kind-failure")
    expect(end).to_have_count(1)
    assert float(end.locator("rect").first.get_attribute("width") or 0) > 20
    expect(page.locator("#detail-history tbody tr").last).to_contain_text("error_message")
    history = page.locator("#detail-history").bounding_box()
    panel = page.locator("#detail").bounding_box()
    assert history is not None
    assert panel is not None
    assert history["x"] + history["width"] <= panel["x"] + panel["width"]  # the values cell wraps
    requests = page.locator("#detail-journal").bounding_box()
    assert requests is not None
    assert requests["x"] + requests["width"] <= panel["x"] + panel["width"]  # so does the requests table
    page.screenshot(path=str(SCREENSHOTS / "completed_and_failed.png"))


def _colour(locator: Any) -> str:
    return str(locator.evaluate("(node) => getComputedStyle(node).color"))


def test_segment_labels_are_whole_or_absent(page: Any, mock: MockServer) -> None:
    """Short segments of the scenario strips draw no label rather than a cut one ("pendin"); the
    tooltip names every segment; terminal segments take their kind's colour."""
    page.click('.tab[data-view="scenarios"]')
    strips = page.locator("#scenario-apis svg.timeline")
    expect(strips.first).to_be_visible()
    sizes = page.evaluate(
        """() => [...document.querySelectorAll("#scenario-apis g.segment")].map((g) => ({
            title: g.querySelector("title").textContent,
            label: g.querySelector("text") ? g.querySelector("text").getBBox().width : null,
            width: Number(g.querySelector("rect").getAttribute("width")),
        }))"""
    )
    assert sizes
    assert all(size["title"] for size in sizes)
    labelled = [size for size in sizes if size["label"] is not None]
    assert labelled
    assert all(size["label"] + 4 <= size["width"] for size in labelled), labelled
    assert any(size["label"] is None for size in sizes)  # some are too short for their name
    failure = page.locator('#scenario-apis g.segment.terminal.kind-failure[data-state="error"]')
    expect(failure.first).to_be_attached()

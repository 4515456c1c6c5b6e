"""The dashboard as a person sees it, in a real browser."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from comeback.testing import MockServer
from tests.browser.conftest import create_message, row


def test_a_created_resource_appears_with_its_state(page: Any, mock: MockServer) -> None:
    message = create_message(mock)
    shown = row(page, "privategpt", message)
    expect(shown.locator("td.state")).to_have_text("pending", timeout=2_000)
    expect(shown.locator("td.scenario")).to_have_text("happy")
    expect(shown.locator("td.api")).to_have_text("privategpt")

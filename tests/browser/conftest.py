"""A real browser for the dashboard tests: Debian's Chromium driven by Playwright.

One browser per test module and worker, a fresh page and a fresh mock (manual clock, on a free
127.0.0.1 port) per test. Not one per session: while Playwright's sync API is open it leaves an
event loop marked as running in the main thread, and other modules' tests that call
``asyncio.run`` on the same xdist worker would fail. Every test saves a screenshot under
``test-output/browser/`` and fails if the page logged an error to its console.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest

from comeback.testing import MockServer
from tests.conftest import REPO
from tests.dashboard.clients import create_message, create_run
from tools.browser import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = REPO / "test-output" / "browser"
__all__ = ["SCREENSHOTS", "create_message", "create_run", "row"]  # for the tests here
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the browser tests need playwright ([test] extra)"
)
if not CHROMIUM.exists():
    # in CI the README's test line installs it first, so a missing browser there is a failure, not a skip
    if os.environ.get("CI"):
        pytest.fail("no /usr/bin/chromium although CI is set: tools/install-browser.sh did not install it")
    pytest.skip("no /usr/bin/chromium: run tools/install-browser.sh", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def mock() -> Iterator[MockServer]:
    with MockServer.start(port=True, clock="manual") as server:
        yield server


@pytest.fixture
def page(browser: Any, mock: MockServer, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The dashboard open in a fresh browser context, live; screenshot and console check after."""
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    opened = context.new_page()
    opened.set_default_timeout(5_000)
    problems: list[str] = []
    opened.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    opened.goto(f"{mock.url}/__mock/ui")
    sync_api.expect(opened.locator("#live")).to_have_text("live")
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', request.node.name)}.png"))
    context.close()
    assert problems == [], f"the page logged errors: {problems}"


def row(page: Any, api: str, resource_id: str) -> Any:
    return page.locator(f'#resources tr[data-key="{api}/{resource_id}"]')

"""The browser the dashboard tests and the dashboard bench drive: Debian's Chromium, headless.

``tools/install-browser.sh`` installs it; Playwright's own browser download cannot work here, so
Playwright is pointed at this executable with these arguments.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces it may not have
    "--disable-gpu",
    # nothing in the background may reach the network: tests and benches talk only to loopback
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

"""Where the mock's own routes live: the admin prefix and the dashboard's page files.

A leaf module (it imports nothing of the mock), so the ASGI plumbing (the guard, the routing) can
tell admin paths from API paths without importing the admin or dashboard handlers.
"""

from __future__ import annotations

PREFIX = "/__mock"  # the admin API and the dashboard
ADMIN_PATHS = f"{PREFIX}/"
PAGE_PATHS = frozenset({f"{PREFIX}/ui", f"{PREFIX}/ui/"})
STATIC_PREFIX = f"{PREFIX}/ui/static/"


def is_admin(path: str) -> bool:
    """``/__mock`` and everything under it."""
    return path.startswith(PREFIX) and (len(path) == len(PREFIX) or path[len(PREFIX)] == "/")


def is_page_file(method: str, path: str) -> bool:
    """The dashboard's page and its static files: they hold no data, and a browser cannot send the
    admin token when it loads them (a navigation, a script tag), so the admin guard needs no token
    for them. Everything the page then asks for (events, actions) goes through the guard as usual."""
    if method not in ("GET", "HEAD") or ".." in path:  # nothing that could climb out of static/
        return False
    return path in PAGE_PATHS or path.startswith(STATIC_PREFIX)

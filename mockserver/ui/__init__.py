"""The dashboard at ``/__mock/ui``: a page served by the mock from files shipped in this package
(plain ES modules, no build step), fed by the admin event streams defined here.

    routes.extend(dashboard_routes(engine))   # before the admin API's routes
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from mockserver.engine import Engine
from mockserver.ui.routes import Dashboard

__all__ = ["dashboard_routes", "is_page_file"]

PAGE_PATHS = frozenset({"/__mock/ui", "/__mock/ui/"})
STATIC_PREFIX = "/__mock/ui/static/"


def dashboard_routes(engine: Engine) -> list[BaseRoute]:
    """The page, its static files, the event streams and the dashboard's admin calls."""
    return Dashboard(engine).routes()


def is_page_file(method: str, path: str) -> bool:
    """The page and its static files: they hold no data, and a browser cannot send the admin token
    when it loads them (a navigation, a script tag), so the admin guard needs no token for them.
    Everything the page then asks for (events, actions) goes through the guard as usual."""
    if method not in ("GET", "HEAD") or ".." in path:  # nothing that could climb out of static/
        return False
    return path in PAGE_PATHS or path.startswith(STATIC_PREFIX)

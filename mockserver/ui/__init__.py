"""The dashboard at ``/__mock/ui``: a page served by the mock from files shipped in this package
(plain ES modules, no build step), fed by the admin event streams defined here.

    routes.extend(dashboard_routes(engine))   # before the admin API's routes
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from mockserver.engine import Engine
from mockserver.paths import is_page_file
from mockserver.ui.routes import Dashboard

__all__ = ["dashboard_routes", "is_page_file"]  # is_page_file lives in mockserver.paths (the guard's)


def dashboard_routes(engine: Engine) -> list[BaseRoute]:
    """The page, its static files, the event streams and the dashboard's admin calls."""
    return Dashboard(engine).routes()

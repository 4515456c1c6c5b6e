"""``create_app(settings)``: one Starlette app serving every operation of the chosen specs.

uvicorn mockserver.app:create_app --factory     # all bundled APIs, real clock
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from lifecycle.bundled import bundled_scenarios, bundled_specs
from mockserver.admin import admin_routes
from mockserver.admin_namespace import in_namespaces
from mockserver.catalog import Api, StatelessApi, load_apis
from mockserver.clock import Clock, ManualClock, ScaledClock
from mockserver.cors import Cors
from mockserver.endpoint import api_routes
from mockserver.engine import Engine
from mockserver.error_shape import CONTROL_ERROR_HEADER, INJECTED_HEADER
from mockserver.guard import Guard, admin_policy
from mockserver.problems import problem
from mockserver.reload import watching
from mockserver.replay import CutConnections
from mockserver.routing import ApiRoutes, OperationRouter, Operations
from mockserver.scenario_files import ScenarioFiles
from mockserver.settings import ENVIRONMENT_KEY, Settings, settings_from_json
from mockserver.state.base import StoreUnavailableError
from mockserver.stateless import stateless_routes
from mockserver.ui import dashboard_routes
from mockserver.vendors import vendor_for
from mockserver.vendors.base import Vendor

log = logging.getLogger("comeback.mock")
_EXPOSED_HEADERS = [
    "pagination-count",
    "pagination-page",
    "pagination-take",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    # the mock's own response headers: page code may read them too
    INJECTED_HEADER,
    CONTROL_ERROR_HEADER,
]


def app_from_environment() -> Starlette:
    """The app for one of several uvicorn workers: settings come from ``COMEBACK_SETTINGS``."""
    from mockserver.serving import settle_memory  # noqa: PLC0415  (serving imports the engine's world)

    app = create_app(settings_from_json(os.environ[ENVIRONMENT_KEY]))
    settle_memory()  # each worker, as the single process does before serving
    return app


def default_settings() -> Settings:
    """Every bundled spec and scenario, real clock: what ``comeback serve`` starts with."""
    return Settings(spec_paths=tuple(bundled_specs()), scenario_dir=bundled_scenarios())


def create_app(settings: Settings | None = None, *, catalog: Mapping[str, Api] | None = None) -> Starlette:
    """Build the mock. Raises ``SourceError`` (every finding) if a spec or scenario is unusable.

    ``catalog`` reuses specs and scenarios loaded before (a test session loads them once).
    """
    settings = settings or default_settings()
    stateless: dict[str, StatelessApi] = {}
    files: ScenarioFiles | None = None  # kept for hot reload, which would otherwise read them all again
    if catalog is None:
        files = ScenarioFiles()
        catalog, stateless = load_apis(
            settings.spec_paths, settings.scenario_folders(), apis=settings.apis, files=files
        )
    elif settings.apis is not None:
        catalog = {name: api for name, api in catalog.items() if name in settings.apis}
    clock: Clock = (
        ManualClock(settings.start_time) if settings.clock == "manual" else ScaledClock(settings.speed)
    )
    engine = Engine(settings, catalog, clock)
    apis = [vendor_routes(engine, vendor_for(engine, api), api) for api in catalog.values()]
    apis.extend(stateless_routes(engine, api) for api in stateless.values())
    # Starlette's router keeps the admin API and the dashboard; the operations are routed outside it
    own = in_namespaces(engine, [*dashboard_routes(engine), *admin_routes(engine)])
    operations = Operations(engine, apis, admin=own, rebuild=lambda api: _rebuilt(engine, api))
    routes = [*own, operations.admin_fallback()]
    # the guard first: a refused Host or admin request never reaches CORS, routing or a handler
    # outermost: a connection a recorded server cut (``comeback record``) gets no answer at all
    middleware = [Middleware(CutConnections, engine=engine), Middleware(Guard, policy=admin_policy(settings))]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                Cors,
                allow_origins=list(settings.cors_origins),
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=_EXPOSED_HEADERS,
            )
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.loop = asyncio.get_running_loop()  # comeback.testing runs a shared store's calls on it
        await engine.open()
        async with watching(engine, enabled=settings.watch, serve_spec=operations.replace, files=files):
            yield
        await engine.close()

    app = MockApp(
        operations,
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers={StoreUnavailableError: _store_unavailable},  # admin routes, dashboard
    )
    app.state.engine = engine
    app.state.stateless = stateless
    app.state.operations = operations
    return app


async def _store_unavailable(request: Request, error: Exception) -> Response:
    """An admin or dashboard request while the shared store is away: a 503 problem, never a 500."""
    response = problem(503, "Store unavailable", str(error))
    response.headers["Retry-After"] = "1"
    return response


class MockApp(Starlette):
    """The mock's Starlette app: its own middleware (guard, CORS) and the operations' routing
    (``OperationRouter``, innermost of them) sit outside Starlette's error middleware, not inside
    it, so an API call does not pass a wrapper that only matters when something fails: the endpoint
    answers its own failures with the vendor's 500, and anything else that raises there gets
    uvicorn's 500. The admin API and the dashboard still meet Starlette's error and exception
    middleware as before."""

    def __init__(self, operations: Operations, **options: Any) -> None:
        self.operations = operations
        super().__init__(**options)

    def build_middleware_stack(self) -> ASGIApp:
        own, self.user_middleware = self.user_middleware, []
        try:
            app = super().build_middleware_stack()
        finally:
            self.user_middleware = own
        app = OperationRouter(app, self.operations, self.router)
        for cls, args, kwargs in reversed(own):
            app = cls(app, *args, **kwargs)
        return app


def vendor_routes(engine: Engine, vendor: Vendor, api: Api) -> ApiRoutes:
    """One route per operation of ``api``, answered by ``vendor`` behind its fault gate."""
    return api_routes(
        engine,
        api.name,
        document=api.spec.data,
        operations=api.spec.operations,
        errors=vendor,
        handler_for=vendor.handler_for,
        gate=vendor.gate,
        unread_bodies=vendor.unread_bodies,
    )


def _rebuilt(engine: Engine, api: Api) -> ApiRoutes:
    """Hot reload of a changed spec: its API's rendering, vendor and routes built again."""
    engine.render_with(api)
    return vendor_routes(engine, vendor_for(engine, api), api)

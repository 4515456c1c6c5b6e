"""``create_app(settings)``: one Starlette app serving every operation of the chosen specs.

uvicorn mockserver.app:create_app --factory     # all bundled APIs, real clock
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, compile_path
from starlette.types import ASGIApp

from lifecycle.bundled import bundled_scenarios, bundled_specs
from lifecycle.openapi import HTTP_METHODS, Operation, schema_registry
from mockserver.admin import admin_routes, problem
from mockserver.admin_scenarios import admin_not_found
from mockserver.auth import AuthRule
from mockserver.catalog import Api, ScenarioFiles, StatelessApi, load_apis
from mockserver.clock import Clock, ManualClock, ScaledClock
from mockserver.cors import Cors
from mockserver.engine import Engine
from mockserver.error_shapes import ErrorShapes
from mockserver.guard import Guard, admin_policy
from mockserver.inputs import RAW_BODY, InputRules, fast_registry, header_dict
from mockserver.journal import JournalEntry, body_text
from mockserver.leanpath import LeanRoutes
from mockserver.reload import watching
from mockserver.render import Renderer
from mockserver.settings import ENVIRONMENT_KEY, Settings, settings_from_json
from mockserver.stateless import StatelessPaths, stateless_routes
from mockserver.strict import ResponseChecker, violation
from mockserver.ui import dashboard_routes
from mockserver.vendors import vendor_for
from mockserver.vendors.base import CONTROL_ERROR_HEADER, INJECTED_HEADER, Call, Handler, Vendor

log = logging.getLogger("comeback.mock")
_NO_QUERY: Mapping[str, str] = {}
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
    return create_app(settings_from_json(os.environ[ENVIRONMENT_KEY]))


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
    routes: list[BaseRoute] = []
    vendors = {name: vendor_for(engine, api) for name, api in catalog.items()}
    for api in catalog.values():
        routes.extend(api_routes(engine, vendors[api.name], api))
    routes.extend(stateless_routes(engine, stateless))
    routes.extend(dashboard_routes(engine))
    routes.extend(admin_routes(engine))  # after the APIs: Starlette tries routes in order, per request
    unknown = StatelessPaths(stateless)
    routes.append(_catch_all(engine, vendors, unknown))
    # the guard first: a refused Host or admin request never reaches CORS, routing or a handler
    middleware = [Middleware(Guard, policy=admin_policy(settings))]
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
    # innermost, inside the guard and CORS: the operations' routes without the router's per-route work
    # (it reads the router's routes on each call: hot reload swaps them)
    built: list[Starlette] = []
    middleware.append(
        Middleware(LeanRoutes, routes=lambda: built[0].router.routes, is_operation=_is_operation)
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with watching(
            engine, enabled=settings.watch, serve_spec=lambda api: _serve_spec(app, api), files=files
        ):
            yield
        await engine.close()

    app = MockApp(routes=routes, middleware=middleware, lifespan=lifespan)
    built.append(app)
    app.state.engine = engine
    app.state.stateless = stateless
    app.state.vendors, app.state.stateless_paths = vendors, unknown  # for a spec hot reload
    return app


class MockApp(Starlette):
    """The mock's Starlette app: its own middleware (guard, CORS, lean path) sits outside Starlette's
    error middleware, not inside it, so an API call does not pass a wrapper that only matters when
    something fails: the endpoint answers its own failures with the vendor's 500, and anything
    else that raises there gets uvicorn's 500. Routes the lean path does not take still meet
    Starlette's error and exception middleware as before."""

    def build_middleware_stack(self) -> ASGIApp:
        own, self.user_middleware = self.user_middleware, []
        try:
            app = super().build_middleware_stack()
        finally:
            self.user_middleware = own
        for cls, args, kwargs in reversed(own):
            app = cls(app, *args, **kwargs)
        return app


def api_routes(engine: Engine, vendor: Vendor, api: Api) -> list[Route]:
    """One route per operation of ``api``."""
    settings = engine.settings
    checker = ResponseChecker(api.spec.data, schema_registry(api.spec.data)) if settings.strict else None
    registry = fast_registry(api.spec.data)
    # a spec without a vendor of its own: its errors in the shapes it documents (error_shapes)
    shapes = ErrorShapes(api.spec.data, settings.seed) if type(vendor) is Vendor else None
    routes = []
    for operation in api.spec.operations.values():
        endpoint = _Endpoint(
            engine,
            vendor,
            operation,
            vendor.handler_for(operation),
            InputRules.compile(
                api.spec.data,
                registry,
                operation,
                settings.max_body_bytes,
                read_body=operation.operation_id not in vendor.unread_bodies,
            ),
            AuthRule.compile(api.spec.data, operation.definition),
            checker,
            shapes,
        )
        routes.append(Route(operation.path, endpoint.handle, methods=[operation.method.upper()]))
    return routes


def _serve_spec(app: Starlette, api: Api) -> None:
    """Hot reload of a changed spec: its API's routes, vendor and renderer are rebuilt and replace
    the old ones in one assignment of the route list (requests in progress finish on the old ones)."""
    engine: Engine = app.state.engine
    engine.renderers[api.name] = Renderer(api.spec, engine.settings.seed)
    vendor = vendor_for(engine, api)
    fresh = api_routes(engine, vendor, api)
    routes = app.router.routes
    first = next(
        (i for i, r in enumerate(routes) if _api_of(r) == api.name), len(routes) - 1
    )  # where the API's routes were, so the order of APIs is kept
    kept = [route for route in routes if _api_of(route) != api.name]
    vendors: dict[str, Vendor] = app.state.vendors
    vendors[api.name] = vendor
    # the catch-all's 405 table and listing are built once: build them again for the changed paths
    kept = [route for route in kept if getattr(route, "path", None) != CATCH_ALL]
    kept.append(_catch_all(engine, vendors, app.state.stateless_paths))
    app.router.routes = kept[:first] + fresh + kept[first:]


CATCH_ALL = "/{path:path}"


def _catch_all(engine: Engine, vendors: dict[str, Vendor], stateless: StatelessPaths) -> Route:
    """The last route: requests no operation matched (see ``_unknown_path``)."""
    return Route(
        CATCH_ALL, _unknown_path(engine, vendors, stateless), methods=[m.upper() for m in HTTP_METHODS]
    )


def _api_of(route: BaseRoute) -> str | None:
    endpoint = getattr(getattr(route, "endpoint", None), "__self__", None)
    return endpoint.vendor.name if isinstance(endpoint, _Endpoint) else None


@dataclass(frozen=True, slots=True)
class _Endpoint:
    """One operation: auth, input validation, the vendor's handler, strict check, journal."""

    engine: Engine
    vendor: Vendor
    operation: Operation
    handler: Handler
    rules: InputRules
    auth: AuthRule
    checker: ResponseChecker | None
    shapes: ErrorShapes | None = None

    async def handle(self, request: Request) -> Response:
        started, arrived = time.perf_counter(), self.engine.clock.now()
        settings = self.engine.settings
        call: Call | None = None
        headers = header_dict(request.scope)  # once: auth looks names up in it, the journal keeps it
        try:
            query = request.query_params if self.auth.reads_query else _NO_QUERY
            if settings.auth and not self.auth.allows(headers, query, settings.token):
                response = self.vendor.unauthorized()
            else:
                inputs = await self.rules.read(request, headers)
                if isinstance(inputs, list):
                    response = self.vendor.validation_error(inputs)
                else:
                    call = Call(self.engine, self.vendor, self.operation, inputs, request)
                    response = await self.vendor.dispatch(call, self.handler)
            if self.shapes is not None:
                response = self.shapes.conform(self.operation, response)
            if (
                self.checker is not None
                # a fault asked for, or a malformed control header: not the mock's mistake
                and INJECTED_HEADER not in response.headers
                and CONTROL_ERROR_HEADER not in response.headers
                and (problems := self.checker.problems(self.operation, response))
            ):
                log.error(
                    "strict mode: %s answered %s: %s",
                    self.operation.operation_id,
                    response.status_code,
                    problems,
                )
                response = violation(self.operation, response.status_code, problems)
        except Exception:  # a bug in the mock must still answer, in the vendor's shape, and be logged
            log.exception("mock failure in %s", self.operation.operation_id)
            response = self.vendor.internal_error(
                f"comeback mock failed while handling {self.operation.operation_id}; see its log"
            )
        resource = call.resource if call is not None else None
        scope = request.scope
        self.engine.journal.record(
            JournalEntry(  # positional: keyword arguments cost more on every request
                scope["method"],
                _url_path(scope["path"]),
                scope.get("query_string", b"").decode(),
                response.status_code,
                self.vendor.name,
                self.operation.operation_id,
                resource.id if resource is not None else None,
                resource.scenario if resource is not None else None,
                arrived,
                round((time.perf_counter() - started) * 1000, 3),
                headers,
                body_text(scope.get(RAW_BODY)),
                body_text(getattr(response, "body", None)),  # a stream has none
            )
        )
        return response


def _is_operation(route: BaseRoute) -> bool:
    """A route of one of the spec's operations (what the lean path may take)."""
    return isinstance(route, Route) and isinstance(getattr(route.endpoint, "__self__", None), _Endpoint)


def _url_path(path: str) -> str:
    """``request.url.path`` from the scope's path, without building the whole URL per request."""
    if "?" in path or "#" in path or "\\" in path:
        return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return path


def _unknown_path(
    engine: Engine, vendors: dict[str, Vendor], stateless: StatelessPaths
) -> Callable[[Request], Awaitable[Response]]:
    """Requests no operation matched: 405 (with Allow) on a known path, else a 404 problem."""
    paths: dict[str, tuple[re.Pattern[str], Vendor, set[str]]] = {}
    for name, api in engine.catalog.items():
        for operation in api.spec.operations.values():
            pattern = paths.setdefault(
                operation.path, (compile_path(operation.path)[0], vendors[name], set())
            )
            pattern[2].add(operation.method.upper())
    listing = sorted(f"{method} {path}" for path, (_, _, methods) in paths.items() for method in methods)
    listing = sorted(listing + stateless.listing)

    # under an API's fixed path prefix (e.g. /v1/messages/async/ with an empty id): that vendor's 404
    prefixes = sorted(
        ((path.split("{", 1)[0], vendor) for path, (_, vendor, _) in paths.items() if "{" in path),
        key=lambda item: -len(item[0]),
    )

    async def unknown(request: Request) -> Response:
        path = request.url.path
        match = next(
            ((vendor, methods) for pattern, vendor, methods in paths.values() if pattern.match(path)), None
        )
        owner = next(
            (vendor for prefix, vendor in prefixes if len(prefix) > 1 and path.startswith(prefix)), None
        )
        if match is not None:
            allowed = ", ".join(sorted(match[1]))
            response = match[0].error(405, "Method Not Allowed", {"Allow": allowed})
        elif owner is not None:
            response = owner.error(404, "Not Found")
        elif path.startswith("/__mock"):
            response = admin_not_found(request)
        elif (refused := stateless.method_not_allowed(path)) is not None:
            response = refused
        else:
            detail = f"{request.method} {path} is not an operation of the served APIs"
            response = problem(404, "No such operation", detail, operations=listing)
        engine.journal.record(
            JournalEntry(
                request.method,
                path,
                request.url.query,
                response.status_code,
                None,
                None,
                None,
                None,
                engine.clock.now(),
                0.0,
                dict(request.headers),
                response_body=body_text(bytes(response.body)),
            )
        )
        return response

    return unknown

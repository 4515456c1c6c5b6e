"""Which operation a request is, and the answer when it is none: the one owner of the mock's routing.

``Operations`` holds every API's operation routes (``ApiRoutes``, one per API, in the order the
APIs were served), finds the operation of a request, answers every request that is no operation
(405 with ``Allow`` on a known path, the owning API's 404 under its fixed path prefix, the admin
API's 404/405 listing its routes, else a 404 problem listing the operations), and swaps one API's
routes when hot reload serves a changed spec (``replace``).

``OperationRouter`` is the ASGI side, innermost of the mock's own middleware (inside the guard and
CORS, outside Starlette): an operation goes straight to its endpoint; an admin or dashboard path
(``/__mock/...``), a websocket or the lifespan goes on to Starlette, whose router holds only those
routes and ends with ``Operations.not_found`` for unknown admin paths. The lookup tries, per method,
the routes whose fixed path prefix the path starts with, in the order the APIs were served (the
first full match wins, as in Starlette), and remembers the match per polled path; it does not
depend on what else Starlette's router holds.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.convertors import Convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from mockserver.catalog import Api
from mockserver.engine import Engine
from mockserver.journal import JournalEntry, body_text
from mockserver.paths import ADMIN_PATHS, PREFIX
from mockserver.problems import problem
from mockserver.state.namespaces import NAMESPACE_HEADER

Endpoint = Callable[[Request], Awaitable[Response]]
_SEEN_LIMIT = 1024  # remembered (method, path) matches: a flood of random paths must not grow memory


class ErrorAnswers(Protocol):
    """An API's error answer (``vendors.errors.ErrorShape`` is one)."""

    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response: ...


@dataclass(frozen=True, slots=True)
class OperationRoute:
    """One operation's route: method and path template from the spec, and its endpoint.

    ``path``, ``path_format``, ``path_regex``, ``param_convertors`` and ``endpoint`` mean what they
    mean on Starlette's ``Route`` (code reading ``scope["route"]`` finds them)."""

    method: str
    path: str
    endpoint: Endpoint
    path_regex: re.Pattern[str]
    path_format: str
    param_convertors: Mapping[str, Convertor[Any]]
    prefix: str  # the path up to its first parameter: a cheap test before the regular expression

    @classmethod
    def of(cls, method: str, path: str, endpoint: Endpoint) -> OperationRoute:
        regex, path_format, convertors = compile_path(path)
        return cls(method.upper(), path, endpoint, regex, path_format, convertors, path.split("{", 1)[0])

    @property
    def methods(self) -> frozenset[str]:
        """The methods it answers: a GET answers HEAD too, as Starlette's routes do."""
        return frozenset({self.method, "HEAD"} if self.method == "GET" else {self.method})


@dataclass(frozen=True, slots=True)
class ApiRoutes:
    """One API's operation routes and its error answers (for its 404 and 405)."""

    name: str
    routes: tuple[OperationRoute, ...]
    errors: ErrorAnswers


Match_ = tuple[OperationRoute, dict[str, Any]]


class Operations:
    """Every API's operation routes; the lookup; every 404/405; hot reload's swap (see the module)."""

    def __init__(
        self,
        engine: Engine,
        apis: Iterable[ApiRoutes] = (),
        *,
        admin: Sequence[BaseRoute] = (),
        rebuild: Callable[[Api], ApiRoutes] | None = None,
    ) -> None:
        """``admin``: the admin and dashboard routes (listed by the admin 404, matched for its 405);
        ``rebuild``: an API's routes built again from a changed spec (hot reload)."""
        self.engine = engine
        self.admin = admin
        self.rebuild = rebuild
        self._apis = {api.name: api for api in apis}
        self._index()

    @property
    def apis(self) -> Mapping[str, ApiRoutes]:
        """The served APIs' routes by name, in the order they are tried."""
        return self._apis

    def serve(self, routes: ApiRoutes) -> None:
        """Serve ``routes`` for their API, replacing its old ones where they stood (requests in
        progress finish on the old endpoints)."""
        self._apis[routes.name] = routes  # an existing key keeps its place: the order of APIs stays
        self._index()

    def replace(self, api: Api) -> None:
        """Hot reload of a changed spec: ``api``'s routes, built again, replace its old ones."""
        if self.rebuild is None:
            raise TypeError("these operations were given no way to rebuild an API's routes")
        self.serve(self.rebuild(api))

    def _index(self) -> None:
        by_method: dict[str, list[tuple[str, OperationRoute]]] = {}
        paths: dict[str, tuple[re.Pattern[str], ErrorAnswers, set[str]]] = {}
        for api in self._apis.values():
            for route in api.routes:
                for method in sorted(route.methods):
                    by_method.setdefault(method, []).append((route.prefix, route))
                paths.setdefault(route.path, (route.path_regex, api.errors, set()))[2].add(route.method)
        self._by_method = by_method
        self._seen: dict[tuple[str, str], Match_] = {}
        self._paths = paths
        # under an API's fixed path prefix (e.g. /v1/messages/async/ with an empty id): that API's 404
        self._prefixes = sorted(
            ((path.split("{", 1)[0], errors) for path, (_, errors, _) in paths.items() if "{" in path),
            key=lambda item: -len(item[0]),
        )
        self._listing = sorted(f"{m} {path}" for path, (_, _, methods) in paths.items() for m in methods)

    def match(self, method: str, path: str) -> Match_ | None:
        """The operation route for ``method`` and ``path`` (the path without any root path), with
        its path parameters; None when no operation matches."""
        seen = self._seen.get((method, path))
        if seen is not None:
            return seen
        for prefix, route in self._by_method.get(method, ()):
            if path.startswith(prefix) and (found := route.path_regex.match(path)) is not None:
                params = {
                    name: route.param_convertors[name].convert(value)
                    for name, value in found.groupdict().items()
                }
                if len(self._seen) < _SEEN_LIMIT:
                    self._seen[(method, path)] = route, params
                return route, params
        return None

    def refusal(self, scope: Scope) -> Response:
        """The answer to a request that is no operation: 405 with ``Allow`` on a known path, the
        owning API's 404 under its prefix, the admin API's 404/405, else a 404 listing operations."""
        path = route_path(scope)
        method: str = scope["method"]
        for pattern, errors, methods in self._paths.values():
            if pattern.match(path):
                return errors.error(405, "Method Not Allowed", {"Allow": ", ".join(sorted(methods))})
        owner = next(
            (errors for prefix, errors in self._prefixes if len(prefix) > 1 and path.startswith(prefix)), None
        )
        if owner is not None:
            return owner.error(404, "Not Found")
        if path.startswith(PREFIX):
            return self._admin_refusal(scope, method, path)
        detail = f"{method} {path} is not an operation of the served APIs"
        return problem(404, "No such operation", detail, operations=self._listing)

    def _admin_refusal(self, scope: Scope, method: str, path: str) -> Response:
        """An unknown ``/__mock/`` path: 405 with ``Allow`` on a known path, else 404 listing the routes."""
        routes = [route for route in self.admin if getattr(route, "path", "").startswith(PREFIX)]
        allowed = sorted(
            name
            for route in routes
            if isinstance(route, Route) and route.matches(scope)[0] is Match.PARTIAL
            for name in route.methods or ()
            if name != "HEAD"
        )
        if allowed:
            response = problem(
                405, "Method Not Allowed", f"{method} is not allowed on {path}", allowed=allowed
            )
            response.headers["Allow"] = ", ".join(allowed)
            return response
        listing = sorted(
            f"{name} {route.path}"
            for route in routes
            if isinstance(route, Route)
            for name in route.methods or ("GET",)
            if name != "HEAD"
        ) + sorted(f"GET {route.path}/..." for route in routes if isinstance(route, Mount))
        return problem(404, "No such admin route", f"{path} is not an admin route", routes=listing)

    async def not_found(self, request: Request) -> Response:
        """``refusal``, recorded in the journal (the endpoint of Starlette's last admin route, too)."""
        namespace = request.headers.get(NAMESPACE_HEADER)
        if namespace is not None:
            await self.engine.enter(namespace)  # a name it refuses: journaled in the default namespace
        started, arrived = time.perf_counter(), self.engine.clock.now()
        response = self.refusal(request.scope)
        await self.engine.record(
            JournalEntry(
                request.method,
                request.url.path,
                request.url.query,
                response.status_code,
                None,
                None,
                None,
                None,
                arrived,
                round((time.perf_counter() - started) * 1000, 3),
                dict(request.headers),
                response_body=body_text(bytes(response.body)),
                namespace=self.engine.namespace,
            )
        )
        return response

    def admin_fallback(self) -> Route:
        """The last route of Starlette's router: unknown admin paths, every method."""
        methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
        return Route(f"{ADMIN_PATHS}{{path:path}}", self.not_found, methods=methods)


class OperationRouter:
    """ASGI: operations to their endpoints, every other API path to ``Operations.not_found``, and
    admin paths, websockets and the lifespan on to ``app`` (Starlette). See the module."""

    def __init__(self, app: ASGIApp, operations: Operations, router: ASGIApp) -> None:
        """``router``: what ``scope["router"]`` names for an operation (Starlette's router, for
        ``request.url_for``), as Starlette's own routing would set it."""
        self.app = app
        self.operations = operations
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = route_path(scope) if scope.get("root_path") else scope["path"]
        matched = self.operations.match(scope["method"], path)
        if matched is None:
            if path.startswith(ADMIN_PATHS):  # the admin API and the dashboard
                await self.app(scope, receive, send)
                return
            response = await self.operations.not_found(Request(scope, receive, send))
            await response(scope, receive, send)
            return
        route, params = matched
        # what Starlette's router writes into the scope before calling a route
        scope["router"] = self.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {**scope.get("path_params", {}), **params}  # a copy: params are kept
        response = await route.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)


def route_path(scope: Scope) -> str:
    """The path routes are matched against: the scope's path without its ``root_path`` (what
    Starlette's routes match, so a mock mounted under a prefix routes as it does at the root)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if not root or not path.startswith(root):
        return path
    if path == root:
        return ""
    return path[len(root) :] if path[len(root)] == "/" else path

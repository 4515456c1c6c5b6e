"""The lean path: API operations dispatched straight from the ASGI scope, innermost of the middleware.

Starlette's router tries every route in order (a regular expression and a dict per route), then
wraps the endpoint in a request/response adapter and a second exception handler. For the spec's
operations this middleware makes the same choice with less work: the same compiled routes, grouped
by method and kept in their original order, each tried only when the path starts with the route's
fixed prefix; the first full match wins, as in Starlette. It then calls the very same endpoint
(``_Endpoint.handle``: auth, validation, vendor, engine, journal), so every answer is the one the
router would have given; only the cost differs.

Whatever it does not take (admin API, unknown paths, a method the path does not allow, a
``root_path``, websockets, lifespan) goes on to Starlette unchanged. It sits inside every other
middleware (the guard, CORS, the error handler), so none of them is bypassed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

Endpoint = Callable[[Request], Awaitable[Response]]


class LeanRoutes:
    """ASGI middleware taking the requests that an operation route fully matches (see the module).

    ``routes`` gives the router's current routes; the leading run of those ``is_operation`` accepts
    is indexed again whenever the router's list is replaced (hot reload swaps it in one assignment).
    """

    def __init__(
        self,
        app: ASGIApp,
        routes: Callable[[], Sequence[BaseRoute]],
        is_operation: Callable[[BaseRoute], bool],
    ) -> None:
        self.app = app
        self.routes = routes
        self.is_operation = is_operation
        self._indexed: Sequence[BaseRoute] | None = None
        # method -> [(fixed path prefix, route)], in the routes' order (Starlette's order)
        self.by_method: dict[str, list[tuple[str, Route]]] = {}
        # (method, path) -> the match: clients poll the same URL again and again (bounded, and
        # emptied whenever the routes change)
        self._seen: dict[tuple[str, str], tuple[Route, dict[str, Any]]] = {}

    def _index(self, routes: Sequence[BaseRoute]) -> None:
        by_method: dict[str, list[tuple[str, Route]]] = {}
        for route in routes:
            if not (isinstance(route, Route) and self.is_operation(route)):
                break  # only the leading operations: a route before them could match first otherwise
            prefix = route.path.split("{", 1)[0]
            for method in sorted(route.methods or ()):
                by_method.setdefault(method, []).append((prefix, route))
        self.by_method, self._indexed = by_method, routes
        self._seen.clear()

    def match(self, scope: Scope) -> tuple[Route, dict[str, Any]] | None:
        """The route Starlette would pick for ``scope`` among these, with its path parameters."""
        if scope["type"] != "http" or scope.get("root_path"):
            return None
        current = self.routes()
        if current is not self._indexed:
            self._index(current)
        path: str = scope["path"]
        method: str = scope["method"]
        seen = self._seen.get((method, path))
        if seen is not None:
            return seen
        for prefix, route in self.by_method.get(method, ()):
            if path.startswith(prefix) and (found := route.path_regex.match(path)) is not None:
                params = {
                    name: route.param_convertors[name].convert(value)
                    for name, value in found.groupdict().items()
                }
                if len(self._seen) < 1024:
                    self._seen[(method, path)] = route, params
                return route, params
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self.match(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, params = matched
        # what Starlette's router writes into the scope before calling a route
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = {**scope.get("path_params", {}), **params}  # a copy: params are kept
        endpoint: Endpoint = route.endpoint
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

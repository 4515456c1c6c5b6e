"""Admin routes and the dashboard in a namespace: ``?namespace=NAME`` (the default namespace
without one), so each client sharing the mock administers only its own resources, clock,
scenario queue and defaults, and journal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from mockserver.engine import Engine
from mockserver.problems import problem
from mockserver.state.namespaces import NAMESPACE_RULE

PARAMETER = "namespace"
Endpoint = Callable[[Request], Awaitable[Response]]


def in_namespaces(engine: Engine, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """``routes`` with each endpoint run in the namespace its request names (others unchanged)."""
    return [
        Route(route.path, _namespaced(engine, route.endpoint), methods=route.methods, name=route.name)
        if isinstance(route, Route)
        else route
        for route in routes
    ]


def _namespaced(engine: Engine, endpoint: Endpoint) -> Endpoint:
    async def in_namespace(request: Request) -> Response:
        name = request.query_params.get(PARAMETER)
        if name is not None:
            refused = await engine.enter(name)
            if refused is not None:
                detail = refused.replace("X-Mock-Namespace", "?namespace=")
                return problem(400, "Bad namespace", detail, expected=NAMESPACE_RULE)
        return await endpoint(request)

    return in_namespace

"""The floor: a bare Starlette app answering the same routes with fixed JSON bodies of the same size.

Whatever the mock costs beyond this is the price of its features. Bodies come from the environment
(``FLOOR_BODIES``: route -> JSON text), recorded from the mock's own answers by the bench.
"""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def create_floor() -> Starlette:
    bodies: dict[str, str] = json.loads(os.environ.get("FLOOR_BODIES", "{}"))

    def fixed(body: str) -> Any:
        payload = body.encode()

        async def endpoint(request: Request) -> Response:
            return Response(payload, media_type="application/json")

        return endpoint

    routes = []
    for key, body in bodies.items():
        method, path = key.split(" ", 1)
        routes.append(Route(path, fixed(body), methods=[method]))
    return Starlette(routes=routes)

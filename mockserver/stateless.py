"""A spec without ``x-lifecycle``, served the way Prism serves one: stateless and schema-driven.

Every operation checks credentials and validates its inputs against the spec (422 with the
problems), then answers its first 2xx response with seeded fake data valid against the schema.
Nothing is stored: the same request gets the same body. ``StatelessApi.notice`` is the one line
that says what the block would add.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, compile_path

from lifecycle.openapi import Operation, response_schema
from mockserver.auth import AuthRule
from mockserver.catalog import StatelessApi
from mockserver.engine import Engine
from mockserver.error_shapes import ErrorShapes
from mockserver.fake import FakeData
from mockserver.inputs import RAW_BODY, InputRules, fast_registry, header_dict
from mockserver.journal import JournalEntry, body_text
from mockserver.responses import JSONResponse


def stateless_routes(engine: Engine, apis: Mapping[str, StatelessApi]) -> list[Route]:
    """One route per operation of each stateless API."""
    routes: list[Route] = []
    for api in apis.values():
        registry = fast_registry(api.data)
        fake = FakeData(api.data)
        shapes = ErrorShapes(api.data, engine.settings.seed)  # its errors as it documents them
        for operation in api.operations.values():
            endpoint = _Stateless(
                engine,
                api,
                operation,
                fake,
                InputRules.compile(api.data, registry, operation, engine.settings.max_body_bytes),
                AuthRule.compile(api.data, operation.definition),
                shapes,
            )
            routes.append(Route(operation.path, endpoint.handle, methods=[operation.method.upper()]))
    return routes


@dataclass(frozen=True, slots=True)
class _Stateless:
    engine: Engine
    api: StatelessApi
    operation: Operation
    fake: FakeData
    rules: InputRules
    auth: AuthRule
    shapes: ErrorShapes

    async def handle(self, request: Request) -> Response:
        started, arrived = time.perf_counter(), self.engine.clock.now()
        settings = self.engine.settings
        headers = header_dict(request.scope)
        if settings.auth and not self.auth.allows(headers, request.query_params, settings.token):
            response: Response = JSONResponse({"detail": "Unauthorized"}, status_code=401)
        else:
            inputs = await self.rules.read(request, headers)
            if isinstance(inputs, list):
                detail = [{"loc": list(p.loc), "msg": p.message, "type": p.kind} for p in inputs]
                response = JSONResponse({"detail": detail}, status_code=413 if _too_large(inputs) else 422)
            else:
                response = self.answer(request)
        response = self.shapes.conform(self.operation, response)
        self.engine.journal.record(
            JournalEntry(
                method=request.method,
                path=request.url.path,
                query=request.url.query,
                status=response.status_code,
                api=self.api.name,
                operation=self.operation.operation_id,
                resource_id=None,
                scenario=None,
                time=arrived,
                latency_ms=round((time.perf_counter() - started) * 1000, 3),
                headers=headers,
                request_body=body_text(request.scope.get(RAW_BODY)),
                response_body=body_text(bytes(response.body)),
            )
        )
        return response

    def answer(self, request: Request) -> Response:
        responses = self.operation.definition.get("responses") or {}
        status = next((int(code) for code in responses if str(code).startswith("2")), 200)
        located = response_schema(self.api.data, self.operation, status)
        if located is None:
            return Response(status_code=status)
        # the same request gets the same body: the seed, the operation and the concrete path
        key = f"{self.engine.settings.seed}:{self.operation.operation_id}:{request.url.path}"
        seed = hashlib.sha256(key.encode()).hexdigest()
        body: Any = self.fake.value(located[0], seed)
        return JSONResponse(body, status_code=status)


class StatelessPaths:
    """The stateless APIs' paths, for requests no route matched: 405 with ``Allow`` on a known path."""

    def __init__(self, apis: Mapping[str, StatelessApi]) -> None:
        self._paths: dict[str, tuple[re.Pattern[str], set[str]]] = {}
        for api in apis.values():
            for operation in api.operations.values():
                entry = self._paths.setdefault(operation.path, (compile_path(operation.path)[0], set()))
                entry[1].add(operation.method.upper())
        self.listing = sorted(f"{m} {path}" for path, (_, methods) in self._paths.items() for m in methods)

    def method_not_allowed(self, path: str) -> Response | None:
        for pattern, methods in self._paths.values():
            if pattern.match(path):
                allowed = ", ".join(sorted(methods))
                return JSONResponse(
                    {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allowed}
                )
        return None


def _too_large(problems: list[Any]) -> bool:
    return any(problem.kind == "too-large" for problem in problems)

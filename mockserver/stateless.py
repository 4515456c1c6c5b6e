"""A spec without ``x-lifecycle``, served the way Prism serves one: stateless and schema-driven.

Every operation goes through the same endpoint as an API with a lifecycle (``mockserver.endpoint``:
credentials, input validation with 422 and the problems, the journal, a shaped 500 on a failure),
with FastAPI's ``{"detail": ...}`` errors and no fault gate, then answers its first 2xx response with
seeded fake data valid against the schema. Nothing is stored: the same request gets the same body.
``StatelessApi.notice`` is the one line that says what the block would add.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from lifecycle.openapi import Operation, response_schema
from mockserver.call import Answer, Call, Handler
from mockserver.catalog import StatelessApi
from mockserver.endpoint import api_routes
from mockserver.engine import Engine
from mockserver.error_shape import ErrorShape
from mockserver.fake import FakeData
from mockserver.responses import JSONResponse
from mockserver.routing import ApiRoutes


def stateless_routes(engine: Engine, api: StatelessApi) -> ApiRoutes:
    """One route per operation of a stateless API."""
    fake = FakeData(api.data)

    def handler_for(operation: Operation) -> Handler:
        return _Answers(engine.settings.seed, api, operation, fake).answer

    return api_routes(
        engine,
        api.name,
        document=api.data,
        operations=api.operations,
        errors=ErrorShape(),
        handler_for=handler_for,
        strict=False,
    )


@dataclass(frozen=True, slots=True)
class _Answers:
    seed: int
    api: StatelessApi
    operation: Operation
    fake: FakeData

    async def answer(self, call: Call) -> Answer:
        """The operation's first 2xx response, with a fake body seeded by the request's path."""
        responses = self.operation.definition.get("responses") or {}
        status = next((int(code) for code in responses if str(code).startswith("2")), 200)
        located = response_schema(self.api.data, self.operation, status)
        if located is None:
            return Response(status_code=status), None
        # the same request gets the same body: the seed, the operation and the concrete path
        key = f"{self.seed}:{self.operation.operation_id}:{call.request.url.path}"
        seed = hashlib.sha256(key.encode()).hexdigest()
        body: Any = self.fake.value(located[0], seed)
        return JSONResponse(body, status_code=status), None

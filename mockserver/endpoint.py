"""The endpoint of one operation, the same for every API (with a lifecycle or without one):
auth -> input validation -> [the addressed resource, looked up once -> replay stage -> fault gate]
-> handler -> strict check -> journal.

Every failure inside answers in the API's own shape (``ErrorShape.internal_error``) and is logged and
journaled like any other answer; the routing (``mockserver.routing``) calls ``Endpoint.handle``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lifecycle.openapi import Operation, schema_registry
from mockserver import replay
from mockserver.auth import AuthRule
from mockserver.call import Answer, Call, Handler
from mockserver.documented_errors import DocumentedErrors
from mockserver.engine import Engine
from mockserver.error_shape import CONTROL_ERROR_HEADER, INJECTED_HEADER, ErrorShape
from mockserver.fault_gate import FaultGate
from mockserver.inputs import InputRules, Inputs, fast_registry, header_dict
from mockserver.journal import JournalEntry, body_text
from mockserver.routing import ApiRoutes, OperationRoute
from mockserver.state.base import StoreUnavailableError
from mockserver.state.namespaces import CURRENT_NAMESPACE, NAMESPACE_HEADER
from mockserver.strict import ResponseChecker, violation

log = logging.getLogger("comeback.mock")
_NO_QUERY: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of one API; ``gate`` None: no faults (a spec without ``x-lifecycle``)."""

    engine: Engine
    api: str
    errors: ErrorShape
    operation: Operation
    handler: Handler
    gate: FaultGate | None
    rules: InputRules
    auth: AuthRule
    checker: ResponseChecker | None
    documented: DocumentedErrors | None = None  # errors in the spec's shapes (an API without its own)
    cancels: bool = False  # the operation is its API's cancel (the replay stage may look further)

    async def handle(self, request: Request) -> Response:
        """The operation's answer to ``request``, recorded in the journal."""
        headers = header_dict(request.scope)  # once: auth looks names up in it, the journal keeps it
        namespace = headers.get(NAMESPACE_HEADER)
        refused = await self.engine.enter(namespace) if namespace is not None else None
        space = CURRENT_NAMESPACE.get()  # read once: the clock and the journal entry use it
        started, arrived = time.perf_counter(), self.engine.clocks.of(space).now()
        settings = self.engine.settings
        resource, raw_body = None, None
        try:
            query = request.query_params if self.auth.reads_query else _NO_QUERY
            if refused is not None:
                response = self.errors.control_error("X-Mock-Namespace", refused)
            elif settings.auth and not self.auth.allows(headers, query, settings.token):
                response = self.errors.unauthorized()
            else:
                inputs = await self.rules.read(request, headers)
                raw_body = inputs.raw_body
                if inputs.problems:
                    response = self.errors.validation_error(inputs.problems)
                elif self.gate is None:  # no lifecycle: no resource, no faults, nothing recorded
                    call = Call(self.engine, self.operation, inputs, request)
                    response, resource = await self.handler(call)
                else:
                    response, resource = await self._stages(self.gate, inputs, request)
            if self.documented is not None:
                response = self.documented.conform(self.operation, response)
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
        except StoreUnavailableError as error:  # the shared store is away: not a bug; retry later
            response = self.errors.error(503, str(error), {"Retry-After": "1"})
        except Exception:  # a bug in the mock must still answer, in the vendor's shape, and be logged
            log.exception("mock failure in %s", self.operation.operation_id)
            response = self.errors.internal_error(
                f"comeback mock failed while handling {self.operation.operation_id}; see its log"
            )
        scope = request.scope
        await self.engine.record(
            JournalEntry(  # positional: keyword arguments cost more on every request
                scope["method"],
                url_path(scope["path"]),
                scope.get("query_string", b"").decode(),
                response.status_code,
                self.api,
                self.operation.operation_id,
                resource.id if resource is not None else None,
                resource.scenario if resource is not None else None,
                arrived,
                round((time.perf_counter() - started) * 1000, 3),
                headers,
                body_text(raw_body),
                body_text(getattr(response, "body", None)),  # a stream has none
                space,
            )
        )
        return response

    async def _stages(self, gate: FaultGate, inputs: Inputs, request: Request) -> Answer:
        """An API with a lifecycle: the addressed resource looked up once (without a coroutine when
        this process holds it), then the replay stage, the fault gate and the handler; the two
        stages are awaited only when they may have something to do (most calls: neither)."""
        operation_id = self.operation.operation_id
        found = None
        resource_id = gate.address(operation_id, inputs)
        if resource_id is not None:
            found = self.engine.held(self.api, resource_id)
            if found is None and self.engine.state.shared:  # not held here: ask the shared store
                found = await self.engine.find(self.api, resource_id)
        if replay.concerns(found, self.cancels):  # what a recorded server did, before any fault
            replayed = await replay.before(gate, operation_id, inputs, request, found)
            if replayed is not None:
                return replayed
        fault = None
        if gate.may_fault(operation_id, inputs, found):
            admitted = await gate.admit(operation_id, inputs, found)
            if isinstance(admitted, Response):
                return admitted, None
            fault, found = admitted
            resource_id = resource_id if found is not None else None  # after a delay: look again
        call = Call(self.engine, self.operation, inputs, request, fault, found, resource_id)
        response, resource = await self.handler(call)
        if resource is not None and resource.timeline.scenario.timing is not None:  # a recorded latency
            await replay.after(self.engine, operation_id, resource)
        return response, resource


def api_routes(
    engine: Engine,
    api: str,
    *,
    document: Mapping[str, Any],
    operations: Mapping[str, Operation],
    errors: ErrorShape,
    handler_for: Callable[[Operation], Handler],
    gate: FaultGate | None = None,
    unread_bodies: frozenset[str] = frozenset(),
    strict: bool | None = None,
) -> ApiRoutes:
    """One route per operation of an API, each with its ``Endpoint``."""
    settings = engine.settings
    registry = fast_registry(document)
    strict = settings.strict if strict is None else strict
    checker = ResponseChecker(document, schema_registry(document)) if strict else None
    # an API that does not shape its own errors (a user's spec) answers them as its spec documents
    generic = type(errors).validation_error is ErrorShape.validation_error
    documented = DocumentedErrors(document, settings.seed) if generic else None
    routes = []
    for operation in operations.values():
        endpoint = Endpoint(
            engine,
            api,
            errors,
            operation,
            handler_for(operation),
            gate,
            InputRules.compile(
                document,
                registry,
                operation,
                settings.max_body_bytes,
                read_body=operation.operation_id not in unread_bodies,
            ),
            AuthRule.compile(document, operation.definition),
            checker,
            documented,
            gate is not None and replay.cancels(gate.lifecycle, operation.operation_id),
        )
        routes.append(OperationRoute.of(operation.method.upper(), operation.path, endpoint.handle))
    return ApiRoutes(api, tuple(routes), errors)


def url_path(path: str) -> str:
    """``request.url.path`` from the scope's path, without building the whole URL per request."""
    if "?" in path or "#" in path or "\\" in path:
        return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
    return path

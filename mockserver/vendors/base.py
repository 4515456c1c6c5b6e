"""What every API's mock does, driven by its spec and lifecycle, and the seams a vendor overrides.

A ``Vendor`` answers one API: it knows the vendor's error bodies and id format, and maps each
operation to a handler. The generic handlers here cover the lifecycle roles (create, read, list,
cancel, delete, sub-resources of a resource, anything else as schema-valid fake data); a vendor
module overrides only what its API does differently.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lifecycle.expressions import parse_expression
from lifecycle.faults import HEADER as FAULT_HEADER
from lifecycle.faults import Fault, FaultError, parse_header
from lifecycle.model import Cancel, Delete, Lifecycle, View
from lifecycle.openapi import Operation, response_schema, subschemas_at
from mockserver.catalog import Api
from mockserver.engine import Engine, UnknownScenarioError
from mockserver.inputs import Inputs, Problem
from mockserver.render import Renderer, json_copy
from mockserver.responses import JSONResponse
from mockserver.store import Resource
from mockserver.streams import Encoder, EventStream, events

SCENARIO_HEADER = "x-mock-scenario"
INJECTED_HEADER = "x-mock-fault-injected"
# on a 400 for a malformed mock control header (X-Mock-Fault, X-Mock-Scenario): the client's
# mistake against the mock, not the vendor's API, so strict mode lets it through
CONTROL_ERROR_HEADER = "x-mock-control-error"


@dataclass(slots=True)
class Call:
    """One request to one operation, after validation; handlers read it and may note what they touched."""

    engine: Engine
    vendor: Vendor
    operation: Operation
    inputs: Inputs
    request: Request
    resource: Resource | None = None
    fault: Fault | None = None  # the fault in effect for this call (streams read its stream parts)
    peeked: Resource | None = None  # what the fault gate found (the handler's lookup need not repeat it)

    def evaluate(self, expression: str, response_body: Any = None) -> Any:
        inputs = self.inputs
        return parse_expression(expression).evaluate(
            path=inputs.path,
            query=inputs.query,
            headers=inputs.headers,
            request_body=inputs.body,
            response_body=response_body,
        )


Handler = Callable[[Call], Awaitable[Response]]


class Vendor:
    """Defaults for an API whose errors are ``{"detail": "..."}``; subclasses override the differences."""

    unread_bodies: frozenset[str] = frozenset()  # operations whose request body the real server never reads

    def __init__(self, engine: Engine, api: Api) -> None:
        self.engine = engine
        self.api = api
        self.name = api.name
        self.lifecycle: Lifecycle = api.spec.lifecycle
        self.renderer: Renderer = engine.renderers[api.name]
        self._id_parameter = self._resource_id_parameter()
        self._id_expressions = self._operation_ids()
        self._plain_reads = type(self).decorate is Vendor.decorate  # reads depend on the timeline only

    # -- errors in the vendor's shape -------------------------------------------------------------
    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    def validation_error(self, problems: list[Problem]) -> Response:
        detail = [{"loc": list(p.loc), "msg": p.message, "type": p.kind} for p in problems]
        return JSONResponse({"detail": detail}, status_code=self.validation_status(problems))

    def validation_status(self, problems: list[Problem]) -> int:
        if any(p.kind == "too-large" for p in problems):
            return 413
        return 422

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"{self.lifecycle.resource.capitalize()} {resource_id} not found")

    def unauthorized(self) -> Response:
        return self.error(401, "Unauthorized")

    def control_error(self, header: str, message: str) -> Response:
        """The vendor's 400 for a malformed mock control header, marked as such."""
        response = self.bad_request(f"{header}: {message}" if header == "X-Mock-Fault" else message)
        response.headers[CONTROL_ERROR_HEADER] = header
        return response

    def bad_request(self, message: str) -> Response:
        return self.error(400, message)

    def internal_error(self, message: str) -> Response:
        return self.error(500, message)

    # -- ids ----------------------------------------------------------------------------------------
    def mint_id(self) -> str:
        token = self.engine.new_uuid()
        return self.lifecycle.id_prefix + token if self.lifecycle.id_format == "prefixed-uuid4" else token

    def malformed_id(self, resource_id: str) -> Response | None:
        """An answer for an id that cannot be one of ours (before looking it up), or None."""
        return None

    # -- faults ---------------------------------------------------------------------------------------
    async def dispatch(self, call: Call, handler: Handler) -> Response:
        """Run ``handler`` behind the fault gate: the request's ``X-Mock-Fault`` header, else the
        fault of the current scenario step of the resource the call addresses."""
        try:
            fault, key, count = self._fault_for(call)
        except FaultError as error:
            return self.control_error("X-Mock-Fault", str(error))
        if fault is not None:
            delay = fault.delay(count, key)
            if delay > 0:
                await self.engine.pause(delay / self.engine.settings.speed)  # a shutdown cuts it short
                call.peeked = None  # the resource may have gone meanwhile: the handler looks again
            if fault.errs(count, key):
                return self.fault_response(fault)
            call.fault = fault
        return await handler(call)

    def _fault_for(self, call: Call) -> tuple[Fault | None, str, int]:
        seed = self.engine.settings.seed
        header = call.inputs.headers.get(FAULT_HEADER)
        if header:
            return parse_header(header), f"{seed}:header:{len(self.engine.journal)}", 0
        resource = self.peek(call)
        if resource is None:
            return None, "", 0
        timeline = self.engine.observe(resource)
        step_index = timeline.current.step
        if step_index is None:
            return None, "", 0
        fault = timeline.scenario.steps[step_index].fault
        if fault is None or not fault.applies_to(call.operation.operation_id):
            return None, "", 0
        counts: dict[int, int] = resource.extra.setdefault("fault_calls", {})
        count = counts.get(step_index, 0)
        counts[step_index] = count + 1
        return fault, f"{seed}:{resource.id}:{step_index}", count

    def peek(self, call: Call) -> Resource | None:
        """The resource a call addresses, found without side effects (None if none or unknown)."""
        expression = self._id_expressions.get(call.operation.operation_id)
        if expression is None:
            return None
        resource_id = call.evaluate(expression)
        found = self.engine.find(self.name, str(resource_id)) if resource_id is not None else None
        call.peeked = found
        return found

    def fault_response(self, fault: Fault) -> Response:
        """The vendor's error for an injected status, marked so strict mode lets it through."""
        assert fault.status is not None
        headers = {INJECTED_HEADER: "true"}
        if fault.retry_after is not None:
            # an advertised wait is scenario time, like every other: it scales with --speed, so an
            # SDK at speed 10 waits a tenth. Retry-After takes whole seconds (at least 1, as 0 makes
            # some clients spin); retry-after-ms, which the Stainless-built SDKs read first, is exact.
            wait = fault.retry_after / self.engine.settings.speed
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
            headers["retry-after-ms"] = str(max(1, round(wait * 1000)))
        return self.error(
            fault.status, f"{HTTPStatus(fault.status).phrase} (injected by the comeback mock)", headers
        )

    # -- dispatch -----------------------------------------------------------------------------------
    def handler_for(self, operation: Operation) -> Handler:
        """The handler of ``operation``: a vendor override, else the one for its lifecycle role."""
        override: Handler | None = getattr(self, f"handle_{operation.operation_id}", None)
        if override is not None:
            return override
        lifecycle = self.lifecycle
        view = lifecycle.view_for(operation.operation_id)
        if operation.operation_id == lifecycle.create.operation:
            return self.create
        if lifecycle.cancel is not None and operation.operation_id == lifecycle.cancel.operation:
            return self.cancel
        if lifecycle.delete is not None and operation.operation_id == lifecycle.delete.operation:
            return self.delete
        if lifecycle.stream is not None and operation.operation_id == lifecycle.stream.operation:
            return self.stream
        if view is not None and view.items is not None:
            return self.list_resources
        if view is not None:
            return self.read
        if self._id_parameter is not None and operation.parameter("path", self._id_parameter) is not None:
            return self.subresource
        return self.fake

    def _operation_ids(self) -> dict[str, str]:
        """Where each operation that addresses one resource takes its id (for the fault gate)."""
        lifecycle = self.lifecycle
        found = {
            view.operation: view.id for view in lifecycle.views if view.id is not None and view.items is None
        }
        for part in (lifecycle.cancel, lifecycle.delete, lifecycle.stream):
            if part is not None and part.id is not None:
                found[part.operation] = part.id
        if self._id_parameter is not None:
            for operation in self.api.spec.operations.values():
                if operation.parameter("path", self._id_parameter) is not None:
                    found.setdefault(operation.operation_id, f"$request.path.{self._id_parameter}")
        return found

    def _resource_id_parameter(self) -> str | None:
        """The path parameter that carries the resource id in read operations (e.g. run_id)."""
        for view in self.lifecycle.views:
            if view.id is not None and view.items is None:
                expression = parse_expression(view.id)
                if expression.location == "path":
                    return expression.name
        return None

    # -- generic handlers ---------------------------------------------------------------------------
    async def create(self, call: Call) -> Response:
        create = self.lifecycle.create
        try:
            scenario = self.engine.choose_scenario(
                self.name, call.inputs.headers.get(SCENARIO_HEADER), call.inputs.body
            )
        except UnknownScenarioError as error:
            return self.control_error("X-Mock-Scenario", str(error))
        resource_id = self.new_id(call)
        if isinstance(resource_id, Response):
            return resource_id
        scope = {
            name: str(call.evaluate(expr))
            for name, expr in create.scope.items()
            if call.evaluate(expr) is not None
        }
        resource = self.engine.create(self.name, resource_id, scope, call.inputs.body, scenario)
        self.on_create(call, resource)
        call.resource = resource
        view = self.lifecycle.view_for(create.operation)
        status = view.status if view is not None else 200  # e.g. 202 Accepted in a user's spec
        body = self.renderer.resource_body(
            resource, call.operation, self.engine.observe(resource), self.prepare, status
        )
        return self.respond(call, self.decorate(call, resource, body), status=status)

    def new_id(self, call: Call) -> str | Response:
        """A caller-chosen id (refused if taken) or a freshly minted one."""
        create = self.lifecycle.create
        expression = parse_expression(create.id)
        chosen = call.evaluate(create.caller_id) if create.caller_id else None
        if expression.source == "request":  # the client names the resource (Chatzy's conversation)
            chosen = call.evaluate(create.id)
        if chosen is None:
            return self.mint_id()
        if self.engine.find(self.name, str(chosen)) is not None and create.duplicate_status is not None:
            return self.duplicate(str(chosen))
        return str(chosen)

    def duplicate(self, resource_id: str) -> Response:
        return self.error(self.lifecycle.create.duplicate_status or 409, f"{resource_id} already exists")

    async def read(self, call: Call) -> Response:
        found = self.locate_view(call)
        if isinstance(found, Response):
            return found
        timeline = self.engine.observe(found)
        # A read's body changes only when the timeline moves or a callback outcome is recorded
        # (unless the vendor decorates reads from other state): keep it encoded until then.
        version = (len(timeline.history), id(found.extra.get("callback")))
        cached = found.encoded.get(call.operation.operation_id) if self._plain_reads else None
        if cached is not None and cached[0] == version:
            response: Response = Response(cached[1], media_type="application/json")
        else:
            response = self.respond(call, self.decorate(call, found, self.view_body(call, found)))
            if self._plain_reads and response.status_code == 200:
                found.encoded[call.operation.operation_id] = (version, bytes(response.body))
        self.engine.count_read(found)
        return response

    def locate_view(self, call: Call) -> Resource | Response:
        """The resource a read operation (a view with an id) addresses."""
        view = self.lifecycle.view_for(call.operation.operation_id)
        assert view is not None
        assert view.id is not None
        return self.locate(call, view.id, view.scope)

    def view_body(self, call: Call, resource: Resource) -> Any:
        return self.renderer.resource_body(
            resource, call.operation, self.engine.observe(resource), self.prepare
        )

    async def list_resources(self, call: Call) -> Response:
        view = self.lifecycle.view_for(call.operation.operation_id)
        assert view is not None
        wanted = {name: call.evaluate(expr) for name, expr in view.scope.items()}
        resources = [
            resource
            for resource in self.engine.store.of(self.name)
            if all(value is None or resource.scope.get(name) == str(value) for name, value in wanted.items())
        ]
        page, headers = self.page(call, resources)
        items = [self.list_item(call, view, resource) for resource in page]
        return self.respond(call, items, headers=headers)

    def list_item(self, call: Call, view: View, resource: Resource) -> Any:
        item = self.item_body(call.operation, view, resource)
        self.renderer.overlay(item, resource, self.engine.observe(resource), view.operation)
        return self.decorate(call, resource, item)

    def item_body(self, operation: Operation, view: View, resource: Resource) -> dict[str, Any]:
        located = response_schema(self.api.spec.data, operation, view.status)
        assert located is not None
        assert view.items is not None
        schema, pointer = subschemas_at(self.api.spec.data, located[0], located[1], view.items + "/0")[0]
        key = f"schema:{pointer}"  # the same key the renderer uses, so list items match reads
        if key not in resource.bodies:
            resource.bodies[key] = self.prepare(
                resource, operation, self.renderer.pooled(schema, pointer, resource.id)
            )
        body: dict[str, Any] = json_copy(resource.bodies[key])
        return body

    def page(self, call: Call, resources: list[Resource]) -> tuple[list[Resource], dict[str, str]]:
        """The slice of ``resources`` a list call asked for, and any paging headers."""
        return resources, {}

    async def cancel(self, call: Call) -> Response:
        return self._command(call, self.lifecycle.cancel, self.engine.cancel)

    async def delete(self, call: Call) -> Response:
        return self._command(call, self.lifecycle.delete, self.engine.delete)

    def _command(
        self, call: Call, part: Cancel | Delete | None, action: Callable[[Resource], object]
    ) -> Response:
        assert part is not None
        found = self.locate(call, part.id, part.scope)
        if isinstance(found, Response):
            return found
        action(found)
        if self.lifecycle.view_for(call.operation.operation_id) is not None:  # it shows the resource
            return self.respond(call, self.decorate(call, found, self.view_body(call, found)))
        return self.respond(call, self.decorate(call, found, self.resource_fake(found, call.operation)))

    async def subresource(self, call: Call) -> Response:
        assert self._id_parameter is not None
        found = self.locate(call, f"$request.path.{self._id_parameter}", {})
        if isinstance(found, Response):
            return found
        self.engine.observe(found)
        return self.respond(call, self.decorate(call, found, self.resource_fake(found, call.operation)))

    async def fake(self, call: Call) -> Response:
        status = next(
            (int(code) for code in call.operation.definition["responses"] if str(code).startswith("2")), 200
        )
        body = self.renderer.fake_body(call.operation, status, call.request.url.path)
        return self.respond(call, self.decorate(call, None, body), status=status)

    async def stream(self, call: Call) -> Response:
        stream = self.lifecycle.stream
        assert stream is not None
        assert stream.id is not None
        found = self.locate(call, stream.id, {})
        if isinstance(found, Response):
            return found
        return self.event_stream(found, self.stream_encoder(), fault=call.fault)

    def stream_encoder(self) -> Encoder:
        raise NotImplementedError(f"{self.name} declares a stream but its vendor has no frames")

    def event_stream(
        self,
        resource: Resource,
        encoder: Encoder,
        *,
        skip: int = 0,
        live: bool = False,
        fault: Fault | None = None,
    ) -> Response:
        stream = self.lifecycle.stream
        operation = stream.operation if stream is not None else ""
        body = events(self.engine, resource, encoder, skip=skip, live=live, fault=fault, operation=operation)
        return EventStream(body, headers={"Cache-Control": "no-cache"})

    # -- helpers ------------------------------------------------------------------------------------
    def locate(self, call: Call, id_expression: str, scope: Mapping[str, str]) -> Resource | Response:
        """The resource a request addresses, or the vendor's answer for a malformed or unknown id."""
        resource_id = call.evaluate(id_expression)
        resource_id = str(resource_id) if resource_id is not None else ""
        malformed = self.malformed_id(resource_id)
        if malformed is not None:
            return malformed
        peeked = call.peeked
        resource = (
            peeked
            if peeked is not None and peeked.id == resource_id
            else self.engine.find(self.name, resource_id)
        )
        if resource is None or any(
            (value := call.evaluate(expr)) is not None and resource.scope.get(name) != str(value)
            for name, expr in scope.items()
        ):
            return self.not_found(resource_id)
        call.resource = resource
        return resource

    def resource_fake(self, resource: Resource, operation: Operation) -> Any:
        """Fake body of an operation about ``resource`` (same on every call), prepared by the vendor."""
        key = f"{operation.operation_id}:200"
        if key not in resource.bodies:
            resource.bodies[key] = self.prepare(
                resource, operation, self.renderer.fake_body(operation, 200, resource.id)
            )
        return json_copy(resource.bodies[key])

    def prepare(self, resource: Resource, operation: Operation, body: Any) -> Any:
        """Fixed touches on a resource's fake body, made once: ids and scope names written where
        the body has keys of those names (e.g. ``run_id`` in each message of a run)."""
        stamps = {**resource.scope}
        if self._id_parameter is not None:
            stamps[self._id_parameter] = resource.id
        for item in body if isinstance(body, list) else [body]:
            if isinstance(item, dict):
                for key, value in stamps.items():
                    if key in item:
                        item[key] = value
        return body

    def on_create(self, call: Call, resource: Resource) -> None:
        """Remember vendor data about a new resource (e.g. Letta's run metadata)."""

    def decorate(self, call: Call, resource: Resource | None, body: Any) -> Any:
        """Vendor touches on a body (fixed texts, echoed request fields); the default leaves it."""
        return body

    def respond(
        self, call: Call, body: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        responses = call.operation.definition.get("responses") or {}
        if status == 200 and "200" not in responses:  # a user's spec: 202 for create, 204 for delete
            status = next(
                (int(code) for code in responses if str(code)[:1] == "2" and str(code).isdigit()), 200
            )
        if status == 204:
            return Response(status_code=204, headers=headers)
        return JSONResponse(body, status_code=status, headers=headers)

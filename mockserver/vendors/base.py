"""What every API's mock does, driven by its spec and lifecycle, and the seams a vendor overrides.

A ``Vendor`` answers one API: it has the vendor's error bodies (``ErrorShape``) and maps each
operation to a handler. The generic handlers here cover the lifecycle roles (create, read, list,
cancel, delete, sub-resources of a resource, anything else as schema-valid fake data); a vendor
module overrides only what its API does differently. A handler returns its response with the
resource it touched (``Answer``); the fault gate in front of it is ``mockserver.fault_gate``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.responses import Response

from lifecycle.expressions import parse_expression
from lifecycle.faults import Fault
from lifecycle.model import Cancel, Delete, Lifecycle, View
from lifecycle.openapi import Operation, response_schema, subschemas_at
from mockserver.call import SCENARIO_HEADER, Answer, Call, Handler
from mockserver.catalog import Api
from mockserver.engine import Engine
from mockserver.error_shape import ErrorShape
from mockserver.fault_gate import FaultGate
from mockserver.render import Renderer, json_copy
from mockserver.responses import JSONResponse
from mockserver.scenario_book import UnknownScenarioError
from mockserver.store import Resource
from mockserver.streams import Encoder, EventStream, events
from mockserver.vendors.ids import mint_id, operation_ids, resource_id_parameter

__all__ = ["SCENARIO_HEADER", "Answer", "Call", "Handler", "Vendor"]


class Vendor(ErrorShape):
    """Defaults for an API whose errors are ``{"detail": "..."}``; subclasses override the differences."""

    unread_bodies: frozenset[str] = frozenset()  # operations whose request body the real server never reads

    def __init__(self, engine: Engine, api: Api) -> None:
        self.engine = engine
        self.api = api
        self.name = api.name
        self.lifecycle: Lifecycle = api.spec.lifecycle
        self.renderer: Renderer = engine.renderers[api.name]
        self._id_parameter = resource_id_parameter(self.lifecycle)
        ids = operation_ids(api.spec, self._id_parameter)
        self.gate = FaultGate(engine, api.name, self, ids, self.lifecycle)
        self._plain_reads = type(self).decorate is Vendor.decorate  # reads depend on the timeline only
        self._plain_creates = type(self).on_create is Vendor.on_create  # no vendor data at create

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"{self.lifecycle.resource.capitalize()} {resource_id} not found")

    def malformed_id(self, resource_id: str) -> Response | None:
        """An answer for an id that cannot be one of ours (before looking it up), or None."""
        return None

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

    # -- generic handlers ---------------------------------------------------------------------------
    async def create(self, call: Call) -> Answer:
        create = self.lifecycle.create
        try:
            scenario = await self.engine.choose_scenario(
                self.name, call.inputs.headers.get(SCENARIO_HEADER), call.inputs.body
            )
        except UnknownScenarioError as error:
            return self.control_error("X-Mock-Scenario", str(error)), None
        resource_id = await self.new_id(call)
        if isinstance(resource_id, Response):
            return resource_id, None
        scope = {
            name: str(call.evaluate(expr))
            for name, expr in create.scope.items()
            if call.evaluate(expr) is not None
        }
        resource = await self.engine.create(
            self.name,
            resource_id,
            scope,
            call.inputs.body,
            scenario,
            # a vendor without vendor data to add (most) passes nothing to call per create
            prepare=None if self._plain_creates else lambda made: self.on_create(call, made),
        )
        view = self.lifecycle.view_for(create.operation)
        status = view.status if view is not None else 200  # e.g. 202 Accepted in a user's spec
        body = self.renderer.resource_body(
            resource, call.operation, self.engine.observe(resource), self.prepare, status
        )
        return self.respond(call, self.decorate(call, resource, body), status=status), resource

    async def new_id(self, call: Call) -> str | Response:
        """A caller-chosen id (refused if taken) or a freshly minted one."""
        create = self.lifecycle.create
        expression = parse_expression(create.id)
        chosen = call.evaluate(create.caller_id) if create.caller_id else None
        if expression.source == "request":  # the client names the resource (Chatzy's conversation)
            chosen = call.evaluate(create.id)
        if chosen is None:
            return mint_id(self.engine, self.lifecycle)
        if create.duplicate_status is not None and await self.engine.find(self.name, str(chosen)) is not None:
            return self.duplicate(str(chosen))
        return str(chosen)

    def duplicate(self, resource_id: str) -> Response:
        return self.error(self.lifecycle.create.duplicate_status or 409, f"{resource_id} already exists")

    async def read(self, call: Call) -> Answer:
        view = self.lifecycle.view_for(call.operation.operation_id)
        assert view is not None
        assert view.id is not None
        found = self.at_hand(call, view.id, view.scope)  # a status poll: nothing to await
        if isinstance(found, str):  # not looked up yet (the endpoint found none, or waited since)
            found = self._in_scope(call, await self.engine.find(self.name, found), found, view.scope)
        if isinstance(found, Response):
            return found, None
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
        await self.engine.count_read(found)
        return response, found

    async def locate_view(self, call: Call) -> Resource | Response:
        """The resource a read operation (a view with an id) addresses."""
        view = self.lifecycle.view_for(call.operation.operation_id)
        assert view is not None
        assert view.id is not None
        return await self.locate(call, view.id, view.scope)

    def view_body(self, call: Call, resource: Resource) -> Any:
        return self.renderer.resource_body(
            resource, call.operation, self.engine.observe(resource), self.prepare
        )

    async def list_resources(self, call: Call) -> Answer:
        view = self.lifecycle.view_for(call.operation.operation_id)
        assert view is not None
        wanted = {name: call.evaluate(expr) for name, expr in view.scope.items()}
        resources = [
            resource
            for resource in await self.engine.resources(self.name)
            if all(value is None or resource.scope.get(name) == str(value) for name, value in wanted.items())
        ]
        page, headers = self.page(call, resources)
        items = [self.list_item(call, view, resource) for resource in page]
        return self.respond(call, items, headers=headers), None

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

    async def cancel(self, call: Call) -> Answer:
        return await self._command(call, self.lifecycle.cancel, self.engine.cancel)

    async def delete(self, call: Call) -> Answer:
        return await self._command(call, self.lifecycle.delete, self.engine.delete)

    async def _command(
        self, call: Call, part: Cancel | Delete | None, action: Callable[[Resource], Awaitable[object]]
    ) -> Answer:
        assert part is not None
        found = await self.locate(call, part.id, part.scope)
        if isinstance(found, Response):
            return found, None
        await action(found)
        if self.lifecycle.view_for(call.operation.operation_id) is not None:  # it shows the resource
            return self.respond(call, self.decorate(call, found, self.view_body(call, found))), found
        return self.respond(
            call, self.decorate(call, found, self.resource_fake(found, call.operation))
        ), found

    async def subresource(self, call: Call) -> Answer:
        assert self._id_parameter is not None
        found = await self.locate(call, f"$request.path.{self._id_parameter}", {})
        if isinstance(found, Response):
            return found, None
        self.engine.observe(found)
        return self.respond(
            call, self.decorate(call, found, self.resource_fake(found, call.operation))
        ), found

    async def fake(self, call: Call) -> Answer:
        status = next(
            (int(code) for code in call.operation.definition["responses"] if str(code).startswith("2")), 200
        )
        body = self.renderer.fake_body(call.operation, status, call.request.url.path)
        return self.respond(call, self.decorate(call, None, body), status=status), None

    async def stream(self, call: Call) -> Answer:
        stream = self.lifecycle.stream
        assert stream is not None
        assert stream.id is not None
        found = await self.locate(call, stream.id, {})
        if isinstance(found, Response):
            return found, None
        return self.event_stream(found, self.stream_encoder(), fault=call.fault), found

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
    async def locate(self, call: Call, id_expression: str, scope: Mapping[str, str]) -> Resource | Response:
        """The resource a request addresses, or the vendor's answer for a malformed or unknown id."""
        found = self.at_hand(call, id_expression, scope)
        if not isinstance(found, str):
            return found
        return self._in_scope(call, await self.engine.find(self.name, found), found, scope)

    def at_hand(self, call: Call, id_expression: str, scope: Mapping[str, str]) -> Resource | Response | str:
        """What ``locate`` answers when it needs no lookup: the malformed id's answer, or what the
        endpoint's lookup of this id found (``Call.found``, a 404 when none); else the id to look up."""
        resource_id = call.inputs.evaluate(id_expression)
        resource_id = str(resource_id) if resource_id is not None else ""
        malformed = self.malformed_id(resource_id)
        if malformed is not None:
            return malformed
        if call.looked_up == resource_id:
            return self._in_scope(call, call.found, resource_id, scope)
        return resource_id

    def _in_scope(
        self, call: Call, resource: Resource | None, resource_id: str, scope: Mapping[str, str]
    ) -> Resource | Response:
        if resource is None or (  # most views take no scope: no generator for them
            scope
            and any(
                (value := call.evaluate(expr)) is not None and resource.scope.get(name) != str(value)
                for name, expr in scope.items()
            )
        ):
            return self.not_found(resource_id)
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

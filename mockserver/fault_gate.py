"""The fault gate: in front of every handler of an API with a lifecycle, it decides whether a call
meets an injected fault (a delay, an error status, a broken stream).

The fault comes from the request's ``X-Mock-Fault`` header, else from the current scenario step of
the resource the call addresses (found by the operation's id expression, without side effects).
The gate hands the resource it found on to the handler (``Call.found``), so the handler's lookup
need not repeat it, unless a delay was awaited meanwhile (the resource may be gone by then).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus

from starlette.responses import Response

from lifecycle.faults import HEADER as FAULT_HEADER
from lifecycle.faults import Fault, FaultError, parse_header
from mockserver.engine import Engine
from mockserver.error_shape import INJECTED_HEADER, ErrorShape
from mockserver.inputs import Inputs
from mockserver.store import Resource

Admitted = tuple[Fault | None, Resource | None]  # the fault in effect, the resource looked up
_NOTHING: Admitted = (None, None)


class FaultGate:
    """The gate of one API: its error shape and where each operation takes its resource's id."""

    def __init__(self, engine: Engine, api: str, errors: ErrorShape, ids: Mapping[str, str]) -> None:
        """``ids``: operation id -> the runtime expression of the resource id it addresses."""
        self.engine = engine
        self.api = api
        self.errors = errors
        self.ids = ids

    async def admit(self, operation_id: str, inputs: Inputs) -> Response | Admitted:
        """The answer that replaces the handler's (an injected error, a malformed header), or the
        fault the handler works under with the resource the gate looked up."""
        try:
            fault, key, count, found = await self._fault_for(operation_id, inputs)
        except FaultError as error:
            return self.errors.control_error("X-Mock-Fault", str(error))
        if fault is None:
            return (None, found) if found is not None else _NOTHING
        delay = fault.delay(count, key)
        if delay > 0:
            await self.engine.pause(delay / self.engine.settings.speed)  # a shutdown cuts it short
            found = None  # the resource may have gone meanwhile: the handler looks again
        if fault.errs(count, key):
            return self.fault_response(fault)
        return fault, found

    async def _fault_for(
        self, operation_id: str, inputs: Inputs
    ) -> tuple[Fault | None, str, int, Resource | None]:
        seed = self.engine.settings.seed
        header = inputs.headers.get(FAULT_HEADER)
        if header:
            return parse_header(header), f"{seed}:header:{await self.engine.journal_length()}", 0, None
        resource = await self.peek(operation_id, inputs)
        if resource is None:
            return None, "", 0, None
        timeline = self.engine.observe(resource)
        step_index = timeline.current.step
        if step_index is None:
            return None, "", 0, resource
        fault = timeline.scenario.steps[step_index].fault
        if fault is None or not fault.applies_to(operation_id):
            return None, "", 0, resource
        counts: dict[int, int] = resource.extra.setdefault("fault_calls", {})
        count = counts.get(step_index, 0)
        counts[step_index] = count + 1
        await self.engine.state.put_extra(resource, "fault_calls", counts)
        return fault, f"{seed}:{resource.id}:{step_index}", count, resource

    async def peek(self, operation_id: str, inputs: Inputs) -> Resource | None:
        """The resource a call addresses, found without side effects (None if none or unknown)."""
        expression = self.ids.get(operation_id)
        if expression is None:
            return None
        resource_id = inputs.evaluate(expression)
        return await self.engine.find(self.api, str(resource_id)) if resource_id is not None else None

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
        return self.errors.error(
            fault.status, f"{HTTPStatus(fault.status).phrase} (injected by the comeback mock)", headers
        )

"""The fault gate: in front of every handler of an API with a lifecycle, it decides whether a call
meets an injected fault (a delay, an error status, a broken stream).

The fault comes from the request's ``X-Mock-Fault`` header, else from the current scenario step of
the resource the call addresses. The endpoint looks that resource up once (``address`` names its
id) and hands it to the replay stage, to the gate and on to the handler (``Call.found``); the gate
drops it when it awaited a delay (the resource may be gone by then: the handler looks again).
Most calls meet no fault: ``may_fault`` says so without awaiting anything.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from http import HTTPStatus

from starlette.responses import Response

from lifecycle.faults import HEADER as FAULT_HEADER
from lifecycle.faults import Fault, FaultError, parse_header
from lifecycle.model import Lifecycle
from mockserver.engine import Engine
from mockserver.error_shape import INJECTED_HEADER, ErrorShape
from mockserver.inputs import Inputs
from mockserver.store import Resource

Admitted = tuple[Fault | None, Resource | None]  # the fault in effect, the resource looked up
_NOTHING: Admitted = (None, None)


class FaultGate:
    """The gate of one API: its error shape and where each operation takes its resource's id."""

    def __init__(
        self, engine: Engine, api: str, errors: ErrorShape, ids: Mapping[str, str], lifecycle: Lifecycle
    ) -> None:
        """``ids``: operation id -> the runtime expression of the resource id it addresses;
        ``lifecycle``: the API's (as its vendor was built from the spec)."""
        self.engine = engine
        self.api = api
        self.errors = errors
        self.ids = ids
        self.lifecycle = lifecycle

    def address(self, operation_id: str, inputs: Inputs) -> str | None:
        """The id of the resource a call addresses (None: the operation addresses none)."""
        expression = self.ids.get(operation_id)
        if expression is None:
            return None
        resource_id = inputs.evaluate(expression)
        return str(resource_id) if resource_id is not None else None

    def may_fault(self, operation_id: str, inputs: Inputs, found: Resource | None) -> bool:
        """Whether ``admit`` has anything to decide: an ``X-Mock-Fault`` header, or a fault of the
        current step of ``found`` that applies to the operation (no: the handler runs as is)."""
        if inputs.headers.get(FAULT_HEADER):
            return True
        return found is not None and self._step_fault(operation_id, found) is not None

    async def admit(self, operation_id: str, inputs: Inputs, found: Resource | None) -> Response | Admitted:
        """The answer that replaces the handler's (an injected error, a malformed header), or the
        fault the handler works under with ``found`` (the addressed resource; None after a delay)."""
        try:
            fault, key, count = await self._fault_for(operation_id, inputs, found)
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
        self, operation_id: str, inputs: Inputs, resource: Resource | None
    ) -> tuple[Fault | None, str, int]:
        seed = self.engine.settings.seed
        header = inputs.headers.get(FAULT_HEADER)
        if header:
            return parse_header(header), f"{seed}:header:{await self.engine.journal_length()}", 0
        stepped = self._step_fault(operation_id, resource) if resource is not None else None
        if resource is None or stepped is None:
            return None, "", 0
        fault, step_index = stepped
        counts: dict[int, int] = resource.extra.setdefault("fault_calls", {})
        count = counts.get(step_index, 0)
        counts[step_index] = count + 1
        await self.engine.state.put_extra(resource, "fault_calls", counts)
        return fault, f"{seed}:{resource.id}:{step_index}", count

    def _step_fault(self, operation_id: str, resource: Resource) -> tuple[Fault, int] | None:
        """The fault of the resource's current step, if it applies to the operation, with the step."""
        timeline = self.engine.observe(resource)
        step_index = timeline.current.step
        if step_index is None:
            return None
        fault = timeline.scenario.steps[step_index].fault
        if fault is None or not fault.applies_to(operation_id):
            return None
        return fault, step_index

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

"""What a recorded server did, replayed: its answers, its reactions to a client's action, its latency.

A scenario written by ``comeback record`` may carry ``answers`` (per operation: the status and body
the server gave, and a connection it then dropped), ``reactions`` (what a cancel or delete did) and
``timing`` (latency per operation); see ``lifecycle.reactions`` and ``lifecycle.timing``. The
vendor's dispatch asks ``before`` first: a call about such a resource is answered as recorded,
and the reaction walks the resource's timeline through the engine's clock and change feed. After
the handler, ``after`` sleeps the recorded latency. A dropped connection is replayed as the server
did it: the answer goes out whole, and the next request on that connection gets none.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lifecycle.errors import ComebackError
from lifecycle.faults import Fault
from lifecycle.reactions import Answer, Reaction, reaction_for
from lifecycle.steps import Step
from lifecycle.timeline import react as react_timeline
from mockserver.store import Resource

if TYPE_CHECKING:
    from mockserver.engine import Engine
    from mockserver.vendors.base import Call

# a recorded answer is marked as an injected one (``vendors.base.INJECTED_HEADER``): strict mode lets
# it through, as it lets a scenario's faults through; the value says where it came from
INJECTED = ("x-mock-fault-injected", "recorded")
_DROPPED = "replay:dropped"  # vendor state: connections whose next request gets no answer
_MAX_DROPPED = 1024


class ConnectionDropped(ComebackError):
    """Raised after a response has started, so the server closes the connection mid-answer."""


class DroppedConnection(Response):
    """No answer: the connection is cut (the client sees the server disconnect)."""

    def __init__(self) -> None:
        super().__init__(status_code=500, headers=dict([INJECTED]))  # strict mode lets it through

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _quiet_server_log()
        # the server closes a connection whose answer started but never finished: headers announce
        # a body that never comes, and the client's read fails as on the recorded server
        await send({"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"1")]})
        raise ConnectionDropped("comeback mock: connection dropped as recorded")


async def before(call: Call) -> Response | None:
    """The recorded answer to ``call`` (applying a recorded reaction), or None for the mock's own."""
    engine = call.engine
    dropped: OrderedDict[Any, bool] | None = engine.vendor_state[call.vendor.name].get(_DROPPED)
    client = call.request.scope.get("client")
    if dropped and client is not None and dropped.pop(tuple(client), False):
        return DroppedConnection()
    resource = _addressed(call)
    if resource is None:
        return None
    scenario = resource.timeline.scenario
    if not (scenario.answers or scenario.reactions):
        return None
    operation = call.operation.operation_id
    answer = scenario.answers.get(operation)
    action = _action(call)
    if answer is None and action is not None:
        state = engine.observe(resource).state
        reaction = reaction_for(scenario.reactions, action, state)
        if reaction is not None:
            answer = reaction.answer
            _apply(engine, resource, reaction, call)
    if answer is None:
        return None
    call.resource = resource
    response = _respond(call, answer, resource.id)
    await after(call)  # a recorded answer took its recorded time too
    return response


async def after(call: Call) -> None:
    """Sleep the recorded latency of this operation (divided by ``--speed``)."""
    resource = call.resource
    timing = resource.timeline.scenario.timing if resource is not None else None
    if resource is None or timing is None:
        return
    latency = timing.latency.get(call.operation.operation_id)
    if latency is None:
        return
    counts: dict[str, int] = resource.extra.setdefault("replay_calls", {})
    count = counts.get(call.operation.operation_id, 0)
    counts[call.operation.operation_id] = count + 1
    key = f"{call.engine.settings.seed}:{resource.id}:{call.operation.operation_id}"
    delay = Fault(latency=latency).delay(count, key)
    if delay > 0:
        await call.engine.pause(delay / call.engine.settings.speed)


def react(engine: Engine, resource: Resource, steps: tuple[Step, ...]) -> None:
    """The resource walks a recorded reaction's ``steps`` from the engine's now; watchers (streams,
    the dashboard) hear of it as of any command."""
    resource.timeline = react_timeline(resource.timeline, steps, engine.clock.now())
    resource.notify()
    engine.events.resource_changed(resource)


def _apply(engine: Engine, resource: Resource, reaction: Reaction, call: Call) -> None:
    if reaction.steps is not None:
        react(engine, resource, reaction.steps)
    elif reaction.action == "cancel":
        engine.cancel(resource)
    if reaction.action == "delete" and not reaction.kept:
        engine.delete(resource)


def _respond(call: Call, answer: Answer, resource_id: str) -> Response:
    body = json.dumps(answer.body_for(resource_id), ensure_ascii=False).encode()
    response = Response(
        body, status_code=answer.status, media_type="application/json", headers=dict([INJECTED])
    )
    if answer.connection == "drop":
        client = call.request.scope.get("client")
        if client is not None:
            dropped = call.engine.vendor_state[call.vendor.name].setdefault(_DROPPED, OrderedDict())
            dropped[tuple(client)] = True
            while len(dropped) > _MAX_DROPPED:
                dropped.popitem(last=False)
    return response


def _action(call: Call) -> str | None:
    lifecycle = call.vendor.lifecycle
    operation = call.operation.operation_id
    if lifecycle.cancel is not None and operation == lifecycle.cancel.operation:
        return "cancel"
    if lifecycle.delete is not None and operation == lifecycle.delete.operation:
        return "delete"
    return None


def _addressed(call: Call) -> Resource | None:
    """The resource a call is about; a cancel naming its runs in a one-item list (Letta) too."""
    found = call.vendor.peek(call)
    if found is not None:
        return found
    cancel = call.vendor.lifecycle.cancel
    if cancel is None or call.operation.operation_id != cancel.operation:
        return None
    value = call.evaluate(cancel.id)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return call.engine.find(call.vendor.name, str(value)) if isinstance(value, str) else None


_quieted = False


def _quiet_server_log() -> None:
    """uvicorn logs the exception that cuts a connection as an application error: it is not one."""
    global _quieted  # noqa: PLW0603 - one filter per process
    if not _quieted:
        logging.getLogger("uvicorn.error").addFilter(_not_a_drop)
        _quieted = True


def _not_a_drop(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))

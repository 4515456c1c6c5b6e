"""What a recorded server did, replayed: its answers, its reactions to a client's action, its latency.

A scenario written by ``comeback record`` may carry ``answers`` (per operation: the status and body
the server gave, and a connection it then dropped), ``reactions`` (what a cancel or delete did) and
``timing`` (latency per operation); see ``lifecycle.reactions`` and ``lifecycle.timing``. The
endpoint asks ``before`` ahead of the fault gate, when ``concerns`` (no await) says it may answer:
a call about such a resource is answered as recorded, and the reaction walks the resource's
timeline through the engine's clock and change feed. After the handler, ``after`` sleeps the
recorded latency. A dropped connection is replayed as the server did it: the answer goes out
whole, and the next request on that connection gets none.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from lifecycle.errors import ComebackError
from lifecycle.faults import Fault
from lifecycle.model import Lifecycle
from lifecycle.reactions import Answer as RecordedAnswer
from lifecycle.reactions import Reaction, reaction_for
from lifecycle.timeline import react_to
from mockserver.call import Answer
from mockserver.engine import Engine
from mockserver.inputs import Inputs
from mockserver.state.base import Command, CommandKind
from mockserver.store import Resource

if TYPE_CHECKING:
    from mockserver.fault_gate import FaultGate

# a recorded answer is marked as an injected one (``vendors.base.INJECTED_HEADER``): strict mode lets
# it through, as it lets a scenario's faults through; the value says where it came from
INJECTED = ("x-mock-fault-injected", "recorded")
# per engine, the connections (host, port) whose next request gets no answer: a connection
# belongs to one process, so this is never shared through the store
_DROPPED: WeakKeyDictionary[Engine, OrderedDict[tuple[Any, ...], bool]] = WeakKeyDictionary()
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


def cut_connections(engine: Engine) -> OrderedDict[tuple[Any, ...], bool]:
    """The engine's connections whose next request gets no answer (one dict per engine)."""
    return _DROPPED.setdefault(engine, OrderedDict())


class CutConnections:
    """Outermost middleware: the next request on a connection a recorded answer cut gets no
    answer, whatever its path (a client's next call, or the kit's probe ``GET /``)."""

    def __init__(self, app: ASGIApp, engine: Engine) -> None:
        self.app = app
        self.cut = cut_connections(engine)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # not a coroutine of its own: every request passes here, and almost none is cut, so the
        # inner app's awaitable is handed back as it is (an ASGI app returns an awaitable)
        if self.cut and scope["type"] == "http":  # empty unless a recorded scenario cut one
            client = scope.get("client")
            if client is not None and self.cut.pop(tuple(client), False):
                return DroppedConnection()(scope, receive, send)
        return self.app(scope, receive, send)


def concerns(found: Resource | None, cancels: bool) -> bool:
    """Whether ``before`` may have a recorded answer for this call (checked without awaiting: most
    resources walk a scenario nobody recorded); ``found`` is the resource the call addresses, if
    any; ``cancels``: the operation is the API's cancel (``cancels``), which may name its runs in
    a list and so have found none yet (``before`` looks)."""
    if found is not None:
        scenario = found.timeline.scenario
        return bool(scenario.answers or scenario.reactions)
    return cancels


def cancels(lifecycle: Lifecycle, operation_id: str) -> bool:
    """Whether ``operation_id`` is the lifecycle's cancel (worked out once per operation)."""
    return _action(lifecycle, operation_id) == "cancel"


async def before(
    gate: FaultGate, operation_id: str, inputs: Inputs, request: Request, found: Resource | None
) -> Answer | None:
    """The recorded answer to this call (applying a recorded reaction), or None for the mock's own;
    ``gate`` is the API's fault gate (its engine, its name), ``found`` the resource the call
    addresses (the endpoint's one lookup)."""
    engine, api = gate.engine, gate.api
    resource = found if found is not None else await _listed(gate, operation_id, inputs)
    if resource is None:
        return None
    scenario = resource.timeline.scenario
    if not (scenario.answers or scenario.reactions):
        return None
    answer = scenario.answers.get(operation_id)
    action = _action(engine.lifecycle(api), operation_id)
    if answer is None and action is not None:
        reaction = reaction_for(scenario.reactions, action, engine.observe(resource).state)
        if reaction is not None:
            answer = reaction.answer
            await _apply(engine, resource, reaction)
    if answer is None:
        return None
    response = _respond(engine, api, request, answer, resource.id)
    await after(engine, operation_id, resource)  # a recorded answer took its recorded time too
    return response, resource


async def after(engine: Engine, operation_id: str, resource: Resource | None) -> None:
    """Sleep the recorded latency of this operation on ``resource`` (divided by ``--speed``)."""
    timing = resource.timeline.scenario.timing if resource is not None else None
    if resource is None or timing is None:
        return
    latency = timing.latency.get(operation_id)
    if latency is None:
        return
    counts: dict[str, int] = resource.extra.setdefault("replay_calls", {})
    count = counts.get(operation_id, 0)
    counts[operation_id] = count + 1
    delay = Fault(latency=latency).delay(count, f"{engine.settings.seed}:{resource.id}:{operation_id}")
    if delay > 0:
        await engine.pause(delay / engine.settings.speed)


async def _apply(engine: Engine, resource: Resource, reaction: Reaction) -> None:
    """The reaction, through the engine and its store (a shared store replays the command: the
    recorded reaction is found again from the scenario, the action and the state at its time)."""
    if reaction.steps is not None:
        now = engine.now_of(resource)
        resource.timeline = react_to(resource.timeline, reaction.action, now)
        kind: CommandKind = "react-cancel" if reaction.action == "cancel" else "react-delete"
        await engine.state.command(resource, Command(kind, now))
        resource.notify()
        engine.changed(resource)
    elif reaction.action == "cancel":
        await engine.cancel(resource)
    if reaction.action == "delete" and not reaction.kept:
        await engine.delete(resource)


def _respond(
    engine: Engine, api: str, request: Request, answer: RecordedAnswer, resource_id: str
) -> Response:
    body = json.dumps(answer.body_for(resource_id), ensure_ascii=False).encode()
    response = Response(
        body, status_code=answer.status, media_type="application/json", headers=dict([INJECTED])
    )
    if answer.connection == "drop":
        client = request.scope.get("client")
        if client is not None:
            dropped = cut_connections(engine)
            dropped[tuple(client)] = True
            while len(dropped) > _MAX_DROPPED:
                dropped.popitem(last=False)
    return response


def _action(lifecycle: Lifecycle, operation_id: str) -> str | None:
    if lifecycle.cancel is not None and operation_id == lifecycle.cancel.operation:
        return "cancel"
    if lifecycle.delete is not None and operation_id == lifecycle.delete.operation:
        return "delete"
    return None


async def _listed(gate: FaultGate, operation_id: str, inputs: Inputs) -> Resource | None:
    """The resource a cancel names in a one-item list (Letta's cancel of a run)."""
    engine, api = gate.engine, gate.api
    cancel = engine.lifecycle(api).cancel
    if cancel is None or operation_id != cancel.operation:
        return None
    value = inputs.evaluate(cancel.id)
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    return await engine.find(api, value) if isinstance(value, str) else None


_quieted = False


def _quiet_server_log() -> None:
    """uvicorn logs the exception that cuts a connection as an application error: it is not one."""
    global _quieted  # noqa: PLW0603 - one filter per process
    if not _quieted:
        logging.getLogger("uvicorn.error").addFilter(_not_a_drop)
        _quieted = True


def _not_a_drop(record: logging.LogRecord) -> bool:
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))

"""One request to one operation as a handler sees it, and what a handler gives back.

A handler takes a ``Call`` and returns an ``Answer``: its response and the resource it touched
(None when it touched none), which the endpoint writes in the journal. Nothing is passed back by
writing into the call or the request's scope.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from lifecycle.faults import Fault
from lifecycle.openapi import Operation
from mockserver.engine import Engine
from mockserver.inputs import Inputs
from mockserver.store import Resource

SCENARIO_HEADER = "x-mock-scenario"


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, which every
# request would pay for; nothing writes to a Call after it is made.
@dataclass(slots=True)
class Call:
    """One request to one operation, after validation and the fault gate."""

    engine: Engine
    operation: Operation
    inputs: Inputs
    request: Request
    fault: Fault | None = None  # the fault in effect for this call (streams read its stream parts)
    found: Resource | None = None  # the addressed resource the endpoint looked up (see ``looked_up``)
    # the id the endpoint looked up, ``found`` or not, when nothing was awaited since (a delay may
    # have seen it deleted): a handler addressing that id need not look again
    looked_up: str | None = None

    def evaluate(self, expression: str, response_body: Any = None) -> Any:
        """An OpenAPI runtime expression over the request's inputs (and a response body)."""
        return self.inputs.evaluate(expression, response_body)


Answer = tuple[Response, Resource | None]  # the response and the resource the handler touched
Handler = Callable[[Call], Awaitable[Answer]]

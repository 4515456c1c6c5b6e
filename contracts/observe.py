"""Reading a resource's state back from a live server, the way the spec's views say to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.requests import Created, Requests
from contracts.target import Target
from lifecycle.expressions import resolve_pointer
from lifecycle.model import Lifecycle, View


@dataclass(frozen=True, slots=True)
class Observation:
    """One read: when, the HTTP status, the logical field values, and the state they show (if any)."""

    at: float
    status: int
    values: dict[str, Any]
    state: str | None
    note: str = ""  # what was wrong with the body, when it could not be read at all

    def label(self) -> str:
        shown = self.state or "?" + ",".join(f"{k}={v!r}" for k, v in self.values.items() if v is not None)
        return f"{shown}@{self.at:.2f}s"


def read_view(lifecycle: Lifecycle) -> View:
    """The first view that reads one resource by id (the status endpoint)."""
    for view in lifecycle.views:
        if view.id is not None and view.items is None:
            return view
    raise LookupError("the lifecycle has no view that reads a resource by id")


def observe(requests: Requests, target: Target, made: Created, started: float, now: float) -> Observation:
    """Read ``made`` once through the status view and name its state."""
    view = read_view(requests.lifecycle)
    status, body = requests.call(target, view.operation, made, id_expression=view.id)
    values = (
        {field: resolve_pointer(body, pointer) for field, pointer in view.fields.items()}
        if status == 200
        else {}
    )
    state = requests.lifecycle.state_showing(values) if values else None
    note = ""
    if status == 200 and not isinstance(body, dict | list):
        text = str(body)
        note = f"a body that is not a JSON object: {text[:80]!r}"
    return Observation(now - started, status, values, state.name if state else None, note)


def parse_time(text: Any) -> tuple[datetime | None, bool]:
    """(moment, has_offset) of an RFC 3339 timestamp; (None, False) when it does not parse."""
    if not isinstance(text, str):
        return None, False
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None, False
    return moment, moment.tzinfo is not None

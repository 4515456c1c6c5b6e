"""Drafting an ``x-lifecycle`` block for a spec that has none (``comeback init``).

It reads what the OpenAPI document already says and guesses the rest, noting every guess:

- the create operation: a POST on a collection path whose 2xx response has a status enum;
- where the id comes from: the response's ``id`` (or ``*_id``) property, and its format;
- the status field and its enum: the states; the initial one (``queued``, ``pending``, ...) and the
  terminal ones (``succeeded``, ``failed``, ``cancelled``, ...) from their words;
- read, cancel and delete operations: the create response's links first, then path shapes
  (``GET /things/{id}``, ``POST /things/{id}/cancel``, ``DELETE /things/{id}``);
- timestamps: ``created_at`` / ``finished_at``-like fields.

Pure: it takes the parsed document and returns the block with its notes.

    >>> draft = draft_lifecycle(document.data)
    >>> draft.block["create"]["operation"], draft.notes["create"]
    ('createExport', ['createExport (POST /exports) ...'])
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.draft_fields import add_state_fields
from lifecycle.errors import ComebackError
from lifecycle.kinds import CANCEL_WORDS, FAILURE_WORDS, SUCCESS_WORDS
from lifecycle.openapi import Operation, deref, operations, response_schema

INITIAL_WORDS = ("queued", "pending", "created", "submitted", "accepted", "new", "scheduled", "waiting")
STATUS_NAMES = ("status", "state", "job_status", "task_status")
COMPLETED_NAMES = ("finished_at", "completed_at", "ended_at", "done_at")
CANCEL_PATH = re.compile(r"/(cancel|abort|stop)$")


class DraftError(ComebackError, ValueError):
    """The spec gives too little to draft from (e.g. no POST answers a status enum)."""


@dataclass
class Draft:
    """The drafted block and, per top-level key of it, the guesses to check."""

    block: dict[str, Any]
    notes: dict[str, list[str]] = field(default_factory=dict)

    def note(self, key: str, text: str) -> None:
        self.notes.setdefault(key, []).append(text)


def draft_lifecycle(document: Mapping[str, Any]) -> Draft:
    """Guess an ``x-lifecycle`` block for ``document``; raise DraftError when no guess is possible."""
    ops = operations(document)
    create, create_status, properties, (status_field, values) = _find_create(document, ops)
    draft = Draft({})
    resource = _resource_name(create.path)
    draft.block["resource"] = resource
    draft.note("resource", f"named after the create path {create.path}")
    id_field = "id" if "id" in properties else next((p for p in properties if p.endswith("_id")), None)
    if id_field is None:
        raise DraftError(
            f"the {create.operation_id} response has no 'id' or '*_id' property to take the id from"
        )
    id_format = "uuid4" if properties[id_field].get("format") == "uuid" else "opaque"
    draft.block["id"] = {"name": f"{resource}_id", "format": id_format}
    draft.note("id", f"format {id_format} from the schema of {id_field!r}")
    draft.block["create"] = {"operation": create.operation_id, "id": f"$response.body#/{id_field}"}
    draft.note(
        "create",
        f"{create.operation_id} ({create.method.upper()} {create.path}) answers {create_status} "
        f"with a {status_field!r} enum",
    )
    completed = next((name for name in COMPLETED_NAMES if name in properties), None)
    draft.block["fields"] = {status_field: f"The {resource}'s status."}
    if completed:
        draft.block["fields"][completed] = f"When the {resource} reached a terminal state."
    draft.note(
        "fields",
        f"{status_field!r} shows the state" + (f"; {completed!r} when it ended" if completed else ""),
    )
    links = _links(document, create)
    item_ops = [op for op in ops.values() if op.path.startswith(create.path.rstrip("/") + "/{")]
    linked = [ops[name] for name in links if name in ops]

    def shows_status(op: Operation) -> bool:  # a read: a GET of one resource that shows the status
        schema = _success_schema(document, op)[1]
        return "{" in op.path and schema is not None and _status_field(document, schema) is not None

    read = _pick(linked, item_ops, "get", shows_status)
    cancel = _pick(linked, item_ops, "post", lambda op: bool(CANCEL_PATH.search(op.path)))
    delete = _pick(linked, item_ops, "delete", lambda op: op.path.rstrip("/").endswith("}"))
    working, cancel_target = _add_states(draft, status_field, values, completed)
    _add_views(draft, create, create_status, read, [status_field, *([completed] if completed else [])])
    required = deref(document, _success_schema(document, create)[1] or {}).get("required") or []
    shown = {name: state["show"][status_field] for name, state in draft.block["states"].items()}
    taken = [id_field, status_field, *([completed] if completed else [])]
    add_state_fields(draft, properties, required, taken, shown, cancel_target)
    if cancel is not None and cancel_target is not None:
        codes = _success_codes(cancel)
        draft.block["cancel"] = {
            "operation": cancel.operation_id,
            "id": _id_of(cancel),
            "to": cancel_target,
            "from": working,
            "response": {"status": codes},
            "when_terminal": {"status": codes, "effect": "none"},
        }
        draft.note(
            "cancel", f"{cancel.operation_id} moves to {cancel_target!r}; after the end it changes nothing"
        )
        if shows_status(cancel):  # it answers the resource: that answer shows the state too
            fields = dict(draft.block["views"][0]["fields"])
            draft.block["views"].append(
                {"operation": cancel.operation_id, "id": _id_of(cancel), "fields": fields}
            )
            draft.note("views", f"{cancel.operation_id} answers the {resource} as the cancel left it")
    if delete is not None:
        draft.block["delete"] = {
            "operation": delete.operation_id,
            "id": _id_of(delete),
            "response": {"status": _success_codes(delete)},
            "then_read": {"status": [404]},
            "again": {"status": [404]},
        }
        draft.note("delete", f"{delete.operation_id}; later reads and a second delete answer 404")
    streams = [op.operation_id for op in ops.values() if _streams(op)]
    if streams:
        draft.note(
            "decisions",
            f"{', '.join(streams)} answer text/event-stream: describe the stream by hand "
            "(see lifecycle/schemas/x-lifecycle.schema.json, 'stream')",
        )
    draft.block["decisions"] = [
        {
            "ambiguity": "X-A1",
            "decision": "Drafted by comeback init from the spec; every guess is noted above it.",
        }
    ]
    return draft


def _add_views(
    draft: Draft, create: Operation, status: int, read: Operation | None, fields: list[str]
) -> None:
    """The create response and the read operation show the state, each field at the body's top."""
    view_fields = {name: f"/{name}" for name in fields}
    views: list[dict[str, Any]] = [{"operation": create.operation_id, "fields": view_fields}]
    if status != 200:
        views[0]["status"] = status
    if read is not None:
        views.append({"operation": read.operation_id, "id": _id_of(read), "fields": view_fields})
        draft.note("views", f"{read.operation_id} reads one {draft.block['resource']}")
    else:
        draft.note("views", "no read operation found: only the create response shows the state")
    draft.block["views"] = views


def _find_create(
    document: Mapping[str, Any], ops: Mapping[str, Operation]
) -> tuple[Operation, int, dict[str, Mapping[str, Any]], tuple[str, list[str]]]:
    """The POST on a collection path whose success response has a status enum (fewest path parameters)."""
    candidates = []
    for op in ops.values():
        if op.method != "post" or op.path.rstrip("/").endswith("}") or CANCEL_PATH.search(op.path):
            continue
        status, schema = _success_schema(document, op)
        found = _status_field(document, schema) if schema is not None else None
        if schema is not None and found is not None:
            candidates.append((op, status, _properties(document, schema), found))
    if not candidates:
        raise DraftError(
            "no POST operation on a collection path answers an object with a status enum "
            f"(a property named one of {', '.join(STATUS_NAMES)} with 'enum'); nothing to draft from"
        )
    candidates.sort(key=lambda candidate: candidate[0].path.count("{"))  # the plainest collection first
    return candidates[0]


def _add_states(
    draft: Draft, status_field: str, values: list[str], completed: str | None
) -> tuple[list[str], str | None]:
    """States, initial state and transitions from the enum's words; the working states and the
    cancel target."""
    # the words are compared in lower case: Invent says RUNNING, others say running
    cancel_target = next((v for v in values if v.lower() in CANCEL_WORDS), None)
    ending = SUCCESS_WORDS + FAILURE_WORDS + CANCEL_WORDS
    terminal = [v for v in values if v.lower() in ending] or [values[-1]]
    working = [v for v in values if v not in terminal] or values[:1]
    initial = next((v for v in working if v.lower() in INITIAL_WORDS), working[0])
    name = {value: _state_name(value) for value in values}
    draft.block["initial"] = name[initial]
    draft.note(
        "initial",
        f"{initial!r}: " + ("its word" if initial.lower() in INITIAL_WORDS else "the first working value"),
    )
    states: dict[str, Any] = {}
    for value in values:
        state: dict[str, Any] = {"show": {status_field: value}}
        if value in terminal:
            state["terminal"] = True
        if completed:
            state["present" if value in terminal else "absent"] = [completed]
        states[name[value]] = state
    draft.block["states"] = states
    draft.note("states", f"one per value of {status_field!r}; terminal by their words: {', '.join(terminal)}")
    ends = [v for v in terminal if v != cancel_target]
    transitions: dict[str, list[str]] = {}
    for index, value in enumerate(working):
        # the working states in enum order; the last may end any way; any may be cancelled (by the
        # cancel operation, or by the server: a state the enum has must be reachable)
        targets = working[index + 1 : index + 2] or ends
        if cancel_target:
            targets = [*targets, cancel_target]
        transitions[name[value]] = [name[target] for target in targets]
    draft.block["transitions"] = transitions
    draft.note(
        "transitions",
        "the working states in enum order, then any end"
        + (f"; {cancel_target!r} at any time" if cancel_target else ""),
    )
    if completed:
        draft.block["timestamps"] = {"completed": completed}
        draft.note("timestamps", f"{completed!r} is set exactly when the state is terminal")
    return [name[value] for value in working], name[cancel_target] if cancel_target else None


def _state_name(value: str) -> str:
    """A state name the lifecycle accepts (lower case, ``_``) for an enum value (shown as it is)."""
    word = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_") or "state"
    return word if word[0].isalpha() else f"s_{word}"


def _id_of(op: Operation) -> str:
    """The runtime expression of the operation's last path parameter (the resource id)."""
    return f"$request.path.{re.findall(r'{([^}]+)}', op.path)[-1]}"


def _success_schema(document: Mapping[str, Any], op: Operation) -> tuple[int, Mapping[str, Any] | None]:
    for code in op.definition.get("responses") or {}:
        if str(code).startswith("2") and str(code).isdigit():
            located = response_schema(document, op, int(code))
            return int(code), located[0] if located else None
    return 200, None


def _success_codes(op: Operation) -> list[int]:
    codes = [
        int(c) for c in op.definition.get("responses") or {} if str(c).startswith("2") and str(c).isdigit()
    ]
    return codes or [200]


def _properties(document: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    properties = deref(document, schema).get("properties") or {}
    return {name: deref(document, value) for name, value in properties.items() if isinstance(value, Mapping)}


def _status_field(document: Mapping[str, Any], schema: Mapping[str, Any]) -> tuple[str, list[str]] | None:
    properties = _properties(document, schema)
    for name in (*STATUS_NAMES, *sorted(p for p in properties if p.endswith("status"))):
        enum = properties.get(name, {}).get("enum")
        if isinstance(enum, list) and len(enum) >= 2 and all(isinstance(v, str) for v in enum):
            return name, list(enum)
    return None


NOT_NOUNS = frozenset({"async", "api", "v1", "v2", "v3", "create", "new", "submit", "start"})


def _resource_name(path: str) -> str:
    segments = [s for s in reversed(path.strip("/").split("/")) if s and "{" not in s]
    segment = next((s for s in segments if s.lower() not in NOT_NOUNS), "resource")
    word = re.sub(r"[^a-z0-9_]", "_", segment.lower()).strip("_") or "resource"
    if word.endswith(("ches", "shes", "sses", "xes")):  # batches, pushes, addresses, boxes
        word = word[:-2]
    elif word.endswith("s") and len(word) > 3:
        word = word[:-1]
    return word if word[0].isalpha() else f"r_{word}"


def _links(document: Mapping[str, Any], op: Operation) -> list[str]:
    found = []
    for response in (op.definition.get("responses") or {}).values():
        if isinstance(response, Mapping):
            for link in (deref(document, response).get("links") or {}).values():
                if isinstance(link, Mapping) and isinstance(link.get("operationId"), str):
                    found.append(link["operationId"])
    return found


def _pick(linked: list[Operation], item_ops: list[Operation], method: str, shape: Any) -> Operation | None:
    """A linked operation of this method and shape, else the first of that shape under the create path."""
    chosen = [op for op in linked if op.method == method and shape(op)]
    chosen = chosen or [op for op in item_ops if op.method == method and shape(op)]
    return chosen[0] if chosen else None


def _streams(op: Operation) -> bool:
    for response in (op.definition.get("responses") or {}).values():
        if isinstance(response, Mapping) and "text/event-stream" in (response.get("content") or {}):
            return True
    return False

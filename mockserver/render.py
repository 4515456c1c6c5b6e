"""Response bodies: schema-valid fake data, overlaid with the resource's lifecycle fields.

The fake part of a body is made once per (resource, operation) and kept, so a resource looks the
same on every read; the lifecycle part (status fields, timestamps, step values, callback records)
is written over it at the pointers the spec's ``views`` give.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from lifecycle.findings import split
from lifecycle.formats import apply_formats
from lifecycle.model import Lifecycle, View
from lifecycle.openapi import Operation, allows_null, response_schema, subschemas_at
from lifecycle.spec import ApiSpec
from lifecycle.timeline import Timeline
from mockserver.agreement import Agreement
from mockserver.fake import FakeData
from mockserver.store import Resource

Prepare = Callable[[Resource, Operation, Any], Any]
POOL_SIZE = 256  # fake variants kept per schema


@lru_cache(maxsize=4096)  # a resource's times are shown on every read (and created == updated at first)
def iso(moment: float, *, naive: bool = False) -> str:
    """RFC 3339 UTC with microseconds and Z (or with no offset, as some real servers write).

    The text ``datetime.fromtimestamp(moment, UTC).isoformat(timespec="microseconds")`` gives
    (microseconds rounded half to even, as there), written from ``time.gmtime``: about three
    times faster, and every create renders a new moment."""
    fraction, whole = math.modf(moment)
    micro = round(fraction * 1e6)
    if micro >= 1_000_000:
        whole, micro = whole + 1, micro - 1_000_000
    elif micro < 0:
        whole, micro = whole - 1, micro + 1_000_000
    t = time.gmtime(whole)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        f".{micro:06d}{'' if naive else 'Z'}"
    )


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where one logical field sits in a view's body, and what its schema allows there."""

    tokens: tuple[str, ...]
    nullable: bool
    required: bool
    schemas: tuple[Mapping[str, Any], ...] = ()  # what the schema allows there (every branch)
    moment: bool = False  # a date-time: a state that holds it holds the moment it began


class Renderer:
    """Builds the bodies of one API's responses; prepares per-view slots once."""

    def __init__(self, spec: ApiSpec, seed: int) -> None:
        self.spec = spec
        self.lifecycle: Lifecycle = spec.lifecycle
        self.seed = seed
        self.fake = FakeData(spec.data)
        self._schemas: dict[tuple[str, int], tuple[Mapping[str, Any], str] | None] = {}
        self._pool: dict[tuple[str, int], Any] = {}
        self._slots: dict[str, dict[str, _Slot]] = {
            view.operation: self._view_slots(view) for view in self.lifecycle.views
        }
        created_id = self.lifecycle.create.id
        # where the id sits in bodies: only an id the server writes in its response says so
        self._id_tokens = (
            tuple(split(created_id.split("#", 1)[1])) if created_id.startswith("$response.body#") else ()
        )
        self._naive = {
            field
            for deviation in self.lifecycle.deviations
            if deviation.kind == "naive-datetime"
            for field in deviation.effect["fields"]
        }
        self.agreement = Agreement(spec, self.fake, seed)
        # the top-level properties each view's lifecycle fields (and the id) take: not echoed, not re-timed
        self._taken = {
            operation: frozenset(slot.tokens[0] for slot in slots.values()) | set(self._id_tokens[:1])
            for operation, slots in self._slots.items()
        }

    # -- fake data ------------------------------------------------------------------------------
    def response_schema(self, operation: Operation, status: int) -> tuple[Mapping[str, Any], str] | None:
        """The response schema and its pointer, looked up once per operation and status."""
        key = (operation.operation_id, status)
        if key not in self._schemas:
            self._schemas[key] = response_schema(self.spec.data, operation, status)
        return self._schemas[key]

    def fake_body(self, operation: Operation, status: int, key: str) -> Any:
        """Fake body of ``operation``'s ``status`` response, the same for the same key and seed."""
        located = self.response_schema(operation, status)
        if located is None:
            return None
        return self.pooled(located[0], located[1], f"{operation.operation_id}:{status}:{key}")

    def pooled(self, schema: Mapping[str, Any], pointer: str, key: str) -> Any:
        """A fake value of ``schema`` for ``key``: one of a bounded pool of variants per schema, each
        generated once from the seed. The same seed and key always pick the same variant, and a
        create costs a copy instead of a fresh generation (which is ~1 ms for a Letta run)."""
        slot = int.from_bytes(hashlib.sha256(f"{self.seed}:{key}".encode()).digest()[:4], "big") % POOL_SIZE
        if (pointer, slot) not in self._pool:
            self._pool[(pointer, slot)] = self.fake.value(
                schema, f"{self.seed}:{self.spec.name}:{pointer}:{slot}"
            )
        return json_copy(self._pool[(pointer, slot)])

    def resource_body(
        self,
        resource: Resource,
        operation: Operation,
        timeline: Timeline,
        prepare: Prepare | None = None,
        status: int = 200,
    ) -> Any:
        """A view's body for ``resource``: its kept fake part with the lifecycle fields written over it.

        ``prepare`` (the vendor's fixed touches) runs once, when the fake part is first made.
        """
        located = self.response_schema(operation, status)
        if located is None:
            return None
        # keyed by schema, so every response showing the same schema (create, read, list item)
        # shows the same fake fields for the same resource
        cache_key = f"schema:{located[1]}"
        if cache_key not in resource.bodies:
            body = self.pooled(located[0], located[1], resource.id)
            resource.bodies[cache_key] = prepare(resource, operation, body) if prepare is not None else body
        body = json_copy(resource.bodies[cache_key])
        view = self.lifecycle.view_for(operation.operation_id)
        if view is not None and view.items is None and isinstance(body, dict):
            self.overlay(body, resource, timeline, view.operation)
            naive = resource.extra.get("naive_fields", set())
            self.agreement.settle(
                body,
                resource,
                (operation, status),
                self._taken[view.operation],
                lambda name: iso(resource.created_at, naive=name in naive),
            )
        return body

    def overlay(
        self, body: dict[str, Any], resource: Resource, timeline: Timeline, view_operation: str
    ) -> None:
        """Write id, scope and lifecycle fields of ``resource`` into ``body`` (one item of a view)."""
        if self._id_tokens and _has_path(body, self._id_tokens[:-1]):
            _put(body, self._id_tokens, resource.id)
        for name, scope_value in resource.scope.items():
            if name in body:
                body[name] = scope_value
        values = self.field_values(resource, timeline)
        for field, slot in self._slots.get(view_operation, {}).items():
            if slot.tokens == self._id_tokens:
                continue  # the id was written above
            value = values.get(field)
            if value is None and slot.moment:  # e.g. started_at: since the state that holds it began
                since = self.agreement.since(timeline, field)
                value = None if since is None else iso(since, naive=field in self._naive)
            elif value is None:  # a field the state holds: its fake value, never null
                value = self.agreement.held(resource, timeline, field, slot.schemas, _get(body, slot.tokens))
            if value is not None or slot.nullable:
                _put(body, slot.tokens, value)
            elif not slot.required:
                _remove(body, slot.tokens)

    def field_values(self, resource: Resource, timeline: Timeline) -> dict[str, Any]:
        """Every logical field's value now: state display, step values, timestamps, callback records."""
        lifecycle = self.lifecycle
        state = lifecycle.states[timeline.state]
        values: dict[str, Any] = dict.fromkeys(lifecycle.fields)
        values.update(state.sets)  # what the state holds; the step's own values win (below)
        values.update(state.show)
        values.update(timeline.values)
        naive = self._naive & resource.extra.get("naive_fields", set())
        stamps = lifecycle.timestamps
        if "created" in stamps:
            values[stamps["created"]] = iso(timeline.created_at, naive=stamps["created"] in naive)
        if "updated" in stamps:
            values[stamps["updated"]] = iso(timeline.current.at, naive=stamps["updated"] in naive)
        if "completed" in stamps:
            done = state.terminal
            values[stamps["completed"]] = (
                iso(timeline.current.at, naive=stamps["completed"] in naive) if done else None
            )
        callback = lifecycle.callback
        if callback is not None:
            outcome = resource.extra.get("callback", {})
            for role, field in callback.records.items():
                recorded = outcome.get(role)
                values[field] = (
                    iso(recorded, naive=field in naive)
                    if role == "sent_at" and recorded is not None
                    else recorded
                )
        if timeline.scenario.formats:  # as a recorded server wrote them (``comeback record``)
            apply_formats(values, timeline.scenario.formats)
        return values

    def _view_slots(self, view: View) -> dict[str, _Slot]:
        operation = self.spec.operations[view.operation]
        located = response_schema(self.spec.data, operation, view.status)
        slots: dict[str, _Slot] = {}
        if located is None:
            return slots
        schema, pointer = located
        if view.items is not None:
            nodes = subschemas_at(self.spec.data, schema, pointer, view.items + "/0")
            schema, pointer = nodes[0] if nodes else (schema, pointer)
        for field, field_pointer in view.fields.items():
            tokens = tuple(split(field_pointer))
            nodes = subschemas_at(self.spec.data, schema, pointer, field_pointer)
            parents = subschemas_at(self.spec.data, schema, pointer, "".join("/" + t for t in tokens[:-1]))
            required = any(tokens[-1] in (parent.get("required") or ()) for parent, _ in parents)
            schemas = tuple(node for node, _ in nodes)
            moment = any(node.get("format") == "date-time" for node in schemas)
            slots[field] = _Slot(tokens, any(allows_null(n) for n in schemas), required, schemas, moment)
        return slots


def _get(body: Any, tokens: tuple[str, ...]) -> Any:
    for token in tokens:
        if not isinstance(body, Mapping):
            return None
        body = body.get(token)
    return body


def _has_path(body: Any, tokens: tuple[str, ...]) -> bool:
    for token in tokens:
        if not isinstance(body, Mapping) or token not in body:
            return False
        body = body[token]
    return isinstance(body, Mapping)


def _put(body: dict[str, Any], tokens: tuple[str, ...], value: Any) -> None:
    target = body
    for token in tokens[:-1]:
        child = target.get(token)
        if not isinstance(child, dict):
            child = {}
            target[token] = child
        target = child
    target[tokens[-1]] = value


def _remove(body: dict[str, Any], tokens: tuple[str, ...]) -> None:
    target: Any = body
    for token in tokens[:-1]:
        target = target.get(token) if isinstance(target, dict) else None
    if isinstance(target, dict):
        target.pop(tokens[-1], None)


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): several times faster than ``copy.deepcopy``."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value

"""Fake data that agrees with the resource's state, its create request and the mock's clock.

The fake part of a body is random but schema-valid; left alone it contradicts the lifecycle (an
``error`` text on a job that succeeded, a result URL while queued, a ``created_at`` years before the
mock's clock). The renderer asks this module to settle, in each body it shows:

- **state-bound fields** (a view's logical fields): a field a state lists in ``absent`` is null
  (or missing); one it lists in ``present`` holds a value: the step's ``set``, else the state's
  ``sets``, else a schema-valid fake value that is not null; a date-time field holds the moment the
  resource first entered a state where it is ``present`` (a ``started_at`` is when it left the
  queue), and keeps that moment afterwards;
- **values from the request**: a top-level property of the create request that the body also has
  comes back as sent (when the body's schema accepts it), e.g. a render's ``preset``;
- **the clock**: every other top-level date-time property of the body is the resource's creation
  time on the mock's clock.

What a state holds is declared in ``x-lifecycle`` (``present``/``absent``/``sets`` per state, fields
mapped by ``views``); ``comeback init`` drafts those declarations from names (``lifecycle.draft``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry

from lifecycle.findings import join
from lifecycle.model import Lifecycle
from lifecycle.openapi import (
    Operation,
    deref_located,
    request_schema,
    response_schema,
    schema_registry,
    validator_for,
)
from lifecycle.spec import ApiSpec
from lifecycle.timeline import Timeline
from mockserver.fake import FakeData
from mockserver.store import Resource


@dataclass(frozen=True, slots=True)
class BodyFacts:
    """What one view's body schema says, worked out once: its date-time properties outside the
    lifecycle's fields, and the request properties it echoes (name -> validator of the body's own)."""

    clock_fields: tuple[str, ...]
    echoed: Mapping[str, Draft202012Validator]


class Agreement:
    """Settles one API's bodies with their state, request and clock (see the module docstring)."""

    def __init__(self, spec: ApiSpec, fake: FakeData, seed: int) -> None:
        self.spec = spec
        self.lifecycle: Lifecycle = spec.lifecycle
        self.fake = fake
        self.seed = seed
        self._facts: dict[str, BodyFacts] = {}
        # (validator, type, value) -> valid: clients send the same scalars (a model name) on every
        # create, and the pure-Python validator costs microseconds a field (bounded: see _valid)
        self._checked: dict[tuple[int, type, Any], bool] = {}
        create = spec.operations.get(self.lifecycle.create.operation)
        located = request_schema(spec.data, create) if create is not None else None
        self._request_properties = _properties(spec.data, *located) if located else {}

    @cached_property
    def _registry(self) -> Registry[Any]:
        return schema_registry(self.spec.data)

    # -- state-bound fields -------------------------------------------------------------------
    def since(self, timeline: Timeline, field: str) -> float | None:
        """When the resource first entered a state that holds date-time ``field`` (None: not yet, or
        the current state lists it as absent)."""
        states = self.lifecycle.states
        if field in states[timeline.state].absent:
            return None
        return next((entry.at for entry in timeline.history if field in states[entry.state].present), None)

    def held(
        self,
        resource: Resource,
        timeline: Timeline,
        field: str,
        schemas: tuple[Mapping[str, Any], ...],
        current: Any,
    ) -> Any:
        """The value of logical ``field`` when no step or state set one: the fake value a state that
        lists it as ``present`` holds (``current``, or a new one that is not null); else None."""
        state = self.lifecycle.states[timeline.state]
        if field not in state.present:
            return None
        allowed = state.allowed.get(field)
        if allowed and current not in allowed:  # a closed set: its first value (as the scenarios pick)
            return sorted(allowed, key=str)[0]
        if current is not None:
            return current
        key = f"held:{field}"
        if key not in resource.extra:
            resource.extra[key] = self._non_null(schemas, f"{self.seed}:{resource.id}:{field}")
        return resource.extra[key]

    def _non_null(self, schemas: tuple[Mapping[str, Any], ...], seed: str) -> Any:
        for node in schemas:
            kind = node.get("type")
            if kind == "null":
                continue
            if isinstance(kind, list):
                value = self.fake.value({**node, "type": [k for k in kind if k != "null"] or kind}, seed)
            else:
                value = self.fake.value(node, seed)
            if value is not None:
                return value
        return None

    # -- request and clock ----------------------------------------------------------------------
    def settle(
        self,
        body: dict[str, Any],
        resource: Resource,
        view: tuple[Operation, int],
        taken: frozenset[str],
        created: Callable[[str], str],
    ) -> None:
        """Echo the create request's values and put the other date-times on the mock's clock, in the
        top level of ``body`` (a body of ``view``, an operation and status); ``taken`` names the
        properties the lifecycle writes itself, ``created(name)`` is the creation time as text."""
        facts = self._body_facts(*view, taken)
        request = resource.request
        if type(request) is not dict and not isinstance(request, Mapping):  # a JSON body: a dict
            request = {}
        for name, validator in facts.echoed.items():
            if name in request and name in body and self._valid(validator, request[name]):
                body[name] = request[name]
        for name in facts.clock_fields:
            if body.get(name) is not None:
                body[name] = created(name)

    def _valid(self, validator: Draft202012Validator, value: Any) -> bool:
        """``validator.is_valid(value)``, remembered for a scalar value (the first 4,096 kept)."""
        if not isinstance(value, (str, int, float)):  # bool is an int; None and containers: as is
            return bool(validator.is_valid(value))
        key = (id(validator), type(value), value)  # validators live as long as this object
        known = self._checked.get(key)
        if known is None:
            known = bool(validator.is_valid(value))
            if len(self._checked) < 4_096:
                self._checked[key] = known
        return known

    def _body_facts(self, operation: Operation, status: int, taken: frozenset[str]) -> BodyFacts:
        key = f"{operation.operation_id}:{status}"
        if key not in self._facts:
            located = response_schema(self.spec.data, operation, status)
            properties = _properties(self.spec.data, *located) if located else {}
            clock = tuple(
                name
                for name, (node, _) in properties.items()
                if name not in taken and node.get("format") == "date-time"
            )
            echoed = {
                name: validator_for(self._registry, pointer)
                for name, (_, pointer) in properties.items()
                if name in self._request_properties and name not in taken
            }
            self._facts[key] = BodyFacts(clock, echoed)
        return self._facts[key]


def _properties(
    document: Mapping[str, Any], schema: Mapping[str, Any], pointer: str
) -> dict[str, tuple[Mapping[str, Any], str]]:
    """The top-level properties of an object schema (through ``$ref`` and ``allOf``), with pointers."""
    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    parts = [(schema, pointer)]
    parts += [
        deref_located(document, part, join(pointer, "allOf", str(index)))
        for index, part in enumerate(schema.get("allOf") or ())
        if isinstance(part, Mapping)
    ]
    for node, at in parts:
        for name, value in (node.get("properties") or {}).items():
            if isinstance(value, Mapping):
                found[name] = deref_located(document, value, join(at, "properties", name))
    return found

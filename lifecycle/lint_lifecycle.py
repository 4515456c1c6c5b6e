"""Consistency of a schema-valid ``x-lifecycle`` block with itself and with the operations it names.

States and transitions form a graph with a terminal end; every state, logical field, operation and
runtime expression the block names exists; each view's pointers resolve in its response schema and
the enum of a state-identifying field equals the values the states show. The block's ``rules`` are
checked by ``lifecycle.lint_rules`` with the same helpers.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lifecycle.expressions import parse_expression
from lifecycle.findings import Finding, closest, join, one_of
from lifecycle.lint_rules import rule_findings
from lifecycle.lint_views import view_findings
from lifecycle.model import Lifecycle
from lifecycle.openapi import (
    Operation,
    request_schema,
    response_schema,
    subschemas_at,
)
from lifecycle.source import Document

LIFECYCLE = "/x-lifecycle"


class LifecycleChecks:
    """Consistency of a schema-valid lifecycle block with itself and with the operations it names."""

    def __init__(self, document: Document, lifecycle: Lifecycle, ops: Mapping[str, Operation]) -> None:
        self.document = document
        self.lifecycle = lifecycle
        self.block: Mapping[str, Any] = document.data["x-lifecycle"]
        self.ops = ops
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        self._state_references()
        self._graph()
        self._field_references()
        self._operation_references()
        self._expressions()
        view_findings(self)
        self._callback()
        rule_findings(self)
        return self.findings

    def add(self, pointer: str, message: str, **details: str | None) -> None:
        self.findings.append(
            self.document.finding(
                join(LIFECYCLE, *pointer.strip("/").split("/")) if pointer else LIFECYCLE, message, **details
            )
        )

    # -- states and transitions -------------------------------------------------------------
    def _state_refs(self) -> Iterator[tuple[str, str]]:
        """(pointer inside x-lifecycle, state name) for every place that names a state."""
        block = self.block
        yield "initial", block["initial"]
        for source, targets in block["transitions"].items():
            yield f"transitions/{source}", source
            for index, target in enumerate(targets):
                yield f"transitions/{source}/{index}", target
        if "cancel" in block:
            yield "cancel/to", block["cancel"]["to"]
            for index, state in enumerate(block["cancel"]["from"]):
                yield f"cancel/from/{index}", state
        for d_index, deviation in enumerate(block.get("deviations", ())):
            effect = deviation["effect"]
            base = f"deviations/{d_index}/effect"
            if effect["kind"] == "extra-transitions":
                for source, targets in effect["transitions"].items():
                    yield f"{base}/transitions/{source}", source
                    for index, target in enumerate(targets):
                        yield f"{base}/transitions/{source}/{index}", target
            elif effect["kind"] == "extra-values":
                yield f"{base}/state", effect["state"]
            elif effect["kind"] == "unused-states":
                for index, state in enumerate(effect["states"]):
                    yield f"{base}/states/{index}", state

    def _state_references(self) -> None:
        states = self.lifecycle.states
        for pointer, name in self._state_refs():
            if name not in states:
                self.add(
                    pointer,
                    "unknown state",
                    found=repr(name),
                    expected=one_of(states),
                    suggestion=closest(name, states),
                )

    def _graph(self) -> None:
        lifecycle = self.lifecycle
        for name, state in lifecycle.states.items():
            targets = lifecycle.transitions.get(name, frozenset())
            if state.terminal and targets:
                self.add(
                    f"transitions/{name}",
                    "terminal state has outgoing transitions",
                    found=", ".join(sorted(repr(target) for target in targets)),
                    expected="none",
                )
            if not state.terminal and not targets:
                self.add(
                    f"states/{name}",
                    "state is not terminal but has no outgoing transition",
                    expected="a transition or terminal: true",
                )
        reached, frontier = {lifecycle.initial}, [lifecycle.initial]
        while frontier:
            for target in lifecycle.transitions.get(frontier.pop(), frozenset()):
                if target not in reached:
                    reached.add(target)
                    frontier.append(target)
        for name in lifecycle.states:
            if name not in reached and lifecycle.initial in lifecycle.states:
                self.add(
                    f"states/{name}", f"state cannot be reached from the initial state {lifecycle.initial!r}"
                )
        if not lifecycle.terminal_states:
            self.add("states", "no terminal state", expected="at least one state with terminal: true")
        cancel = lifecycle.cancel
        if cancel is not None and cancel.to in lifecycle.states and not lifecycle.states[cancel.to].terminal:
            self.add("cancel/to", "cancel must lead to a terminal state", found=repr(cancel.to))
        seen: dict[tuple[tuple[str, Any], ...], str] = {}
        for name, state in lifecycle.states.items():
            key = tuple(sorted(state.show.items(), key=lambda item: item[0]))
            if key in seen:
                self.add(
                    f"states/{name}/show",
                    f"shows the same values as state {seen[key]!r}",
                    expected="values that tell the states apart",
                )
            seen.setdefault(key, name)

    # -- logical fields ----------------------------------------------------------------------
    def _field_refs(self) -> Iterator[tuple[str, str]]:
        block = self.block
        for name, state in block["states"].items():
            for field in state["show"]:
                yield f"states/{name}/show/{field}", field
            for key in ("present", "absent"):
                for index, field in enumerate(state.get(key, ())):
                    yield f"states/{name}/{key}/{index}", field
            for key in ("allowed", "sets"):
                for field in state.get(key, {}):
                    yield f"states/{name}/{key}/{field}", field
        for role, field in block.get("timestamps", {}).items():
            yield f"timestamps/{role}", field
        for index, view in enumerate(block["views"]):
            for field in view["fields"]:
                yield f"views/{index}/fields/{field}", field
        for role, field in block.get("callback", {}).get("records", {}).items():
            yield f"callback/records/{role}", field
        for index, deviation in enumerate(block.get("deviations", ())):
            effect = deviation["effect"]
            if effect["kind"] == "extra-values":
                yield f"deviations/{index}/effect/field", effect["field"]
            elif effect["kind"] == "naive-datetime":
                for position, field in enumerate(effect["fields"]):
                    yield f"deviations/{index}/effect/fields/{position}", field

    def _field_references(self) -> None:
        fields = self.lifecycle.fields
        for pointer, name in self._field_refs():
            if name not in fields:
                self.add(
                    pointer,
                    "unknown logical field",
                    found=repr(name),
                    expected=one_of(fields),
                    suggestion=closest(name, fields),
                )
        shown = {field for state in self.lifecycle.states.values() for field in state.show}
        mapped = {field for view in self.lifecycle.views for field in view.fields}
        for field in sorted(shown - mapped):
            self.add(
                "views",
                "a field that identifies states appears in no view",
                found=repr(field),
                expected="a view mapping it",
            )

    # -- operations and expressions --------------------------------------------------------------
    def _operation_refs(self) -> Iterator[tuple[str, str]]:
        block = self.block
        yield "create/operation", block["create"]["operation"]
        for index, view in enumerate(block["views"]):
            yield f"views/{index}/operation", view["operation"]
        for key in ("cancel", "delete", "stream"):
            if key in block:
                yield f"{key}/operation", block[key]["operation"]
        token = block.get("stream", {}).get("token")
        for index, issuer in enumerate(token["issued_by"] if token else ()):
            yield f"stream/token/issued_by/{index}/operation", issuer["operation"]
        for index, deviation in enumerate(block.get("deviations", ())):
            if deviation["effect"]["kind"] == "extra-statuses":
                yield f"deviations/{index}/effect/operation", deviation["effect"]["operation"]

    def _operation_references(self) -> None:
        for pointer, name in self._operation_refs():
            if name not in self.ops:
                self.add(
                    pointer,
                    "unknown operation",
                    found=repr(name),
                    expected="an operationId of this spec",
                    suggestion=closest(name, self.ops),
                )

    def _expressions(self) -> None:
        """Request expressions must name a parameter or body property the operation really has."""
        block = self.block
        bindings: list[tuple[str, str, str]] = [
            ("create/id", block["create"]["operation"], block["create"]["id"])
        ]
        if "caller_id" in block["create"]:
            bindings.append(("create/caller_id", block["create"]["operation"], block["create"]["caller_id"]))
        for index, view in enumerate(block["views"]):
            if "id" in view:
                bindings.append((f"views/{index}/id", view["operation"], view["id"]))
            elif view["operation"] != block["create"]["operation"]:
                self.add(
                    f"views/{index}",
                    "a view of a read operation must say where the id is",
                    expected="an 'id' runtime expression",
                )
        for key in ("cancel", "delete", "stream"):
            part = block.get(key, {})
            for attribute in ("id", "cursor"):
                if attribute in part:
                    bindings.append((f"{key}/{attribute}", part["operation"], part[attribute]))
        token = block.get("stream", {}).get("token")
        if token:
            bindings.append(("stream/token/parameter", block["stream"]["operation"], token["parameter"]))
            for index, issuer in enumerate(token["issued_by"]):
                bindings.append(
                    (f"stream/token/issued_by/{index}/token", issuer["operation"], issuer["token"])
                )
        items = {
            f"views/{index}/id": view["items"] for index, view in enumerate(block["views"]) if "items" in view
        }
        for pointer, operation_id, text in bindings:
            operation = self.ops.get(operation_id)
            if operation is not None:
                self.expression(pointer, operation, text, items.get(pointer))

    def expression(self, pointer: str, operation: Operation, text: str, items: str | None = None) -> None:
        """Check one binding; ``items`` marks a list view, whose response expressions are per item."""
        expression = parse_expression(text)
        if items is not None and expression.source == "response":
            expression = parse_expression(f"$response.body#{items}/0{expression.pointer}")
        if expression.location in ("path", "query", "header"):
            if operation.parameter(expression.location, expression.name) is None:
                names = [p["name"] for p in operation.parameters if p.get("in") == expression.location]
                self.add(
                    pointer,
                    f"{operation.operation_id!r} has no {expression.location} parameter of that name",
                    found=repr(expression.name),
                    expected=one_of(names),
                    suggestion=closest(expression.name, names),
                )
            return
        located = (
            request_schema(self.document.data, operation)
            if expression.source == "request"
            else self.success_schema(operation)
        )
        if located is None or not subschemas_at(
            self.document.data, located[0], located[1], expression.pointer
        ):
            self.add(
                pointer,
                f"the {expression.source} body of {operation.operation_id!r} has no such field",
                found=repr(expression.pointer),
            )

    def success_schema(self, operation: Operation) -> tuple[Mapping[str, Any], str] | None:
        for status in (200, 201, 202):
            located = response_schema(self.document.data, operation, status)
            if located is not None:
                return located
        return None

    def _callback(self) -> None:
        callback = self.lifecycle.callback
        operation = self.ops.get(self.lifecycle.create.operation)
        if callback is None or operation is None:
            return
        declared = operation.definition.get("callbacks") or {}
        if callback.name not in declared:
            self.add(
                "callback/name",
                f"{operation.operation_id!r} declares no such callback",
                found=repr(callback.name),
                expected=one_of(declared)
                if declared
                else f"a name under the callbacks of {operation.operation_id!r}",
                suggestion=closest(callback.name, declared),
            )

"""Checks that a spec is usable: valid OpenAPI 3.1, a valid ``x-lifecycle`` block, and the two agree.

``lint_document`` collects every finding instead of stopping at the first. It is pure: the caller
reads the file and passes a ``Document``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lifecycle.examples import example_findings
from lifecycle.expressions import parse_expression
from lifecycle.findings import Finding, closest, join, one_of, show
from lifecycle.model import Lifecycle, build_lifecycle
from lifecycle.openapi import (
    Operation,
    allows_null,
    operations,
    request_schema,
    response_schema,
    subschemas_at,
)
from lifecycle.source import Document
from lifecycle.validation import schema_findings, shipped_validator

LIFECYCLE = "/x-lifecycle"


def lint_document(
    document: Document,
    *,
    validate_openapi: bool = True,
    require_lifecycle: bool = True,
    check_examples: bool = True,
) -> list[Finding]:
    """Every problem of the spec in ``document``, sorted by line.

    ``require_lifecycle=False`` accepts a spec without ``x-lifecycle`` (served statelessly);
    ``validate_openapi=False`` and ``check_examples=False`` skip the checks a bundled spec is known
    to pass (the test suite lints the bundled specs in full)."""
    data = document.data
    if not isinstance(data, Mapping):
        return [
            document.finding(
                "", "a spec must be a mapping", found=type(data).__name__, expected="an OpenAPI 3.1 document"
            )
        ]
    findings: list[Finding] = []
    if validate_openapi:
        findings.extend(_openapi_findings(document))
    ops = operations(data)
    findings.extend(_link_findings(document, ops))
    if check_examples:
        findings.extend(example_findings(document))
    block = data.get("x-lifecycle")
    if block is None and require_lifecycle:
        findings.append(
            document.finding("", "missing required key", expected="'x-lifecycle' (the API's lifecycle)")
        )
    elif block is not None:
        shape = schema_findings(shipped_validator("x-lifecycle.schema.json"), block, document, LIFECYCLE)
        findings.extend(shape)
        if not shape:
            findings.extend(_LifecycleChecks(document, build_lifecycle(block), ops).run())
    return sorted(set(findings), key=lambda f: (f.line or 0, f.pointer, f.message, f.found or ""))


def _openapi_findings(document: Document) -> Iterator[Finding]:
    # imported here: the validator brings pydantic, requests and urllib3 (~0.5 s and ~15 MB), and
    # `comeback serve` with the bundled specs never runs this check (catalog.load_any_spec)
    from openapi_spec_validator import OpenAPIV31SpecValidator  # noqa: PLC0415

    for error in OpenAPIV31SpecValidator(document.data).iter_errors():
        summary = error.message.split("\n", 1)[0]  # the validator appends a multi-line dump of the instance
        yield document.finding(join("", *error.absolute_path), f"not valid OpenAPI 3.1: {summary}")


def _link_findings(document: Document, ops: Mapping[str, Operation]) -> Iterator[Finding]:
    """Every link must target a real operation and name only parameters that operation has."""
    for operation in ops.values():
        for status, response in (operation.definition.get("responses") or {}).items():
            links = response.get("links") if isinstance(response, Mapping) else None
            for name, link in (links or {}).items():
                pointer = join(operation.pointer, "responses", status, "links", name)
                target_id = link.get("operationId")
                if target_id is None:
                    yield document.finding(
                        pointer, "link without operationId", expected="an operationId of this spec"
                    )
                    continue
                target = ops.get(target_id)
                if target is None:
                    yield document.finding(
                        join(pointer, "operationId"),
                        "link targets an unknown operation",
                        found=repr(target_id),
                        expected=one_of(ops),
                        suggestion=closest(target_id, ops),
                    )
                    continue
                names = {p.get("name") for p in target.parameters}
                for parameter in link.get("parameters") or {}:
                    bare = parameter.split(".", 1)[-1]  # "path.message_id" qualifies the location
                    if bare not in names:
                        yield document.finding(
                            join(pointer, "parameters", parameter),
                            f"link parameter is not a parameter of {target_id!r}",
                            found=repr(parameter),
                            expected=one_of(n for n in names if n),
                            suggestion=closest(bare, [n for n in names if n]),
                        )


class _LifecycleChecks:
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
        self._views_and_enums()
        self._callback()
        return self.findings

    def _add(self, pointer: str, message: str, **details: str | None) -> None:
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
                self._add(
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
                self._add(
                    f"transitions/{name}",
                    "terminal state has outgoing transitions",
                    found=", ".join(sorted(repr(target) for target in targets)),
                    expected="none",
                )
            if not state.terminal and not targets:
                self._add(
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
                self._add(
                    f"states/{name}", f"state cannot be reached from the initial state {lifecycle.initial!r}"
                )
        if not lifecycle.terminal_states:
            self._add("states", "no terminal state", expected="at least one state with terminal: true")
        cancel = lifecycle.cancel
        if cancel is not None and cancel.to in lifecycle.states and not lifecycle.states[cancel.to].terminal:
            self._add("cancel/to", "cancel must lead to a terminal state", found=repr(cancel.to))
        seen: dict[tuple[tuple[str, Any], ...], str] = {}
        for name, state in lifecycle.states.items():
            key = tuple(sorted(state.show.items(), key=lambda item: item[0]))
            if key in seen:
                self._add(
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
                self._add(
                    pointer,
                    "unknown logical field",
                    found=repr(name),
                    expected=one_of(fields),
                    suggestion=closest(name, fields),
                )
        shown = {field for state in self.lifecycle.states.values() for field in state.show}
        mapped = {field for view in self.lifecycle.views for field in view.fields}
        for field in sorted(shown - mapped):
            self._add(
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
                self._add(
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
                self._add(
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
                self._expression(pointer, operation, text, items.get(pointer))

    def _expression(self, pointer: str, operation: Operation, text: str, items: str | None = None) -> None:
        """Check one binding; ``items`` marks a list view, whose response expressions are per item."""
        expression = parse_expression(text)
        if items is not None and expression.source == "response":
            expression = parse_expression(f"$response.body#{items}/0{expression.pointer}")
        if expression.location in ("path", "query", "header"):
            if operation.parameter(expression.location, expression.name) is None:
                names = [p["name"] for p in operation.parameters if p.get("in") == expression.location]
                self._add(
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
            else self._success_schema(operation)
        )
        if located is None or not subschemas_at(
            self.document.data, located[0], located[1], expression.pointer
        ):
            self._add(
                pointer,
                f"the {expression.source} body of {operation.operation_id!r} has no such field",
                found=repr(expression.pointer),
            )

    def _success_schema(self, operation: Operation) -> tuple[Mapping[str, Any], str] | None:
        for status in (200, 201, 202):
            located = response_schema(self.document.data, operation, status)
            if located is not None:
                return located
        return None

    # -- views and status enums ----------------------------------------------------------------
    def _views_and_enums(self) -> None:
        """Each view's pointers exist; the enum of each state-identifying field equals the shown values."""
        shown: dict[str, set[Any]] = {}
        for state in self.lifecycle.states.values():
            for field, value in state.show.items():
                shown.setdefault(field, set()).add(value)
        compared: set[tuple[str, tuple[str, ...]]] = set()
        for index, view in enumerate(self.lifecycle.views):
            operation = self.ops.get(view.operation)
            if operation is None:
                continue
            located = response_schema(self.document.data, operation, view.status)
            if located is None:
                self._add(
                    f"views/{index}/status",
                    f"{view.operation!r} has no JSON response for this status",
                    found=str(view.status),
                )
                continue
            schema, pointer = located
            if view.items is not None:
                items = subschemas_at(self.document.data, schema, pointer, view.items)
                item = next(
                    (
                        (node["items"], join(at, "items"))
                        for node, at in items
                        if isinstance(node.get("items"), Mapping)
                    ),
                    None,
                )
                if item is None:
                    self._add(
                        f"views/{index}/items", "the response has no array here", found=repr(view.items)
                    )
                    continue
                schema, pointer = item
            for field, field_pointer in view.fields.items():
                nodes = subschemas_at(self.document.data, schema, pointer, field_pointer)
                if not nodes:
                    self._add(
                        f"views/{index}/fields/{field}",
                        f"the {view.status} response of {view.operation!r} has no such field",
                        found=repr(field_pointer),
                    )
                elif field in shown and (field, tuple(at for _, at in nodes)) not in compared:
                    compared.add(
                        (field, tuple(at for _, at in nodes))
                    )  # views sharing one schema report once
                    self._compare_enum(index, view.operation, field, nodes, shown[field])

    def _compare_enum(
        self,
        index: int,
        operation: str,
        field: str,
        nodes: Iterable[tuple[Mapping[str, Any], str]],
        shown: set[Any],
    ) -> None:
        declared: dict[Any, str] = {}
        nullable = False
        for node, at in nodes:
            for position, value in enumerate(node.get("enum", ())):
                declared.setdefault(value, join(at, "enum", position))
            if "const" in node:
                declared.setdefault(node["const"], join(at, "const"))
            nullable = nullable or allows_null(node)
        if not declared:
            self._add(
                f"views/{index}/fields/{field}",
                f"field identifies states but has no enum in the response of {operation!r}",
                expected="an enum of the shown values",
            )
            return
        for value, at in declared.items():
            if value not in shown:
                self.findings.append(
                    self.document.finding(
                        at,
                        f"enum value of {field!r} is shown by no state",
                        found=show(value),
                        expected=one_of(shown),
                    )
                )
        for value in shown:
            if value not in declared:
                states = [
                    name
                    for name, state in self.lifecycle.states.items()
                    if state.show.get(field, object()) == value
                ]
                self._add(
                    f"states/{states[0]}/show/{field}",
                    f"value is not in the enum of {field!r} in the response of {operation!r}",
                    found=show(value),
                    expected=one_of(declared),
                )
            elif value is None and not nullable:
                self._add(
                    f"views/{index}/fields/{field}",
                    f"a state shows {field!r} as null but the schema does not allow null",
                    expected="type including 'null'",
                )

    def _callback(self) -> None:
        callback = self.lifecycle.callback
        operation = self.ops.get(self.lifecycle.create.operation)
        if callback is None or operation is None:
            return
        declared = operation.definition.get("callbacks") or {}
        if callback.name not in declared:
            self._add(
                "callback/name",
                f"{operation.operation_id!r} declares no such callback",
                found=repr(callback.name),
                expected=one_of(declared)
                if declared
                else f"a name under the callbacks of {operation.operation_id!r}",
                suggestion=closest(callback.name, declared),
            )


__all__ = ["lint_document"]

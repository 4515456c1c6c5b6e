"""Lint of the ``views`` of an ``x-lifecycle`` block: each view's pointers exist in its response
schema, and the enum of each state-identifying field equals the values the states show."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lifecycle.findings import join, one_of, show
from lifecycle.lint_context import LintContext
from lifecycle.openapi import allows_null, response_schema, subschemas_at


def view_findings(checks: LintContext) -> None:
    """Each view's pointers exist; the enum of each state-identifying field equals the shown values."""
    shown: dict[str, set[Any]] = {}
    for state in checks.lifecycle.states.values():
        for field, value in state.show.items():
            shown.setdefault(field, set()).add(value)
    compared: set[tuple[str, tuple[str, ...]]] = set()
    for index, view in enumerate(checks.lifecycle.views):
        operation = checks.ops.get(view.operation)
        if operation is None:
            continue
        located = response_schema(checks.document.data, operation, view.status)
        if located is None:
            checks.add(
                f"views/{index}/status",
                f"{view.operation!r} has no JSON response for this status",
                found=str(view.status),
            )
            continue
        schema, pointer = located
        if view.items is not None:
            items = subschemas_at(checks.document.data, schema, pointer, view.items)
            item = next(
                (
                    (node["items"], join(at, "items"))
                    for node, at in items
                    if isinstance(node.get("items"), Mapping)
                ),
                None,
            )
            if item is None:
                checks.add(f"views/{index}/items", "the response has no array here", found=repr(view.items))
                continue
            schema, pointer = item
        for field, field_pointer in view.fields.items():
            nodes = subschemas_at(checks.document.data, schema, pointer, field_pointer)
            if not nodes:
                checks.add(
                    f"views/{index}/fields/{field}",
                    f"the {view.status} response of {view.operation!r} has no such field",
                    found=repr(field_pointer),
                )
            elif field in shown and (field, tuple(at for _, at in nodes)) not in compared:
                compared.add((field, tuple(at for _, at in nodes)))  # views sharing one schema report once
                _compare_enum(checks, index, view.operation, field, nodes, shown=shown[field])


def _compare_enum(
    checks: LintContext,
    index: int,
    operation: str,
    field: str,
    nodes: Iterable[tuple[Mapping[str, Any], str]],
    *,
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
        checks.add(
            f"views/{index}/fields/{field}",
            f"field identifies states but has no enum in the response of {operation!r}",
            expected="an enum of the shown values",
        )
        return
    for value, at in declared.items():
        if value not in shown:
            checks.findings.append(
                checks.document.finding(
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
                for name, state in checks.lifecycle.states.items()
                if state.show.get(field, object()) == value
            ]
            checks.add(
                f"states/{states[0]}/show/{field}",
                f"value is not in the enum of {field!r} in the response of {operation!r}",
                found=show(value),
                expected=one_of(declared),
            )
        elif value is None and not nullable:
            checks.add(
                f"views/{index}/fields/{field}",
                f"a state shows {field!r} as null but the schema does not allow null",
                expected="type including 'null'",
            )

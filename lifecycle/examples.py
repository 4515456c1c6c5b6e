"""Every example in a spec must validate against the schema it illustrates.

Covers media-type ``example`` and ``examples.*.value``, parameter ``example``/``examples``, and
schema-level ``examples`` arrays. Schemas are validated as JSON Schema 2020-12 with format checks,
resolving local ``$ref``s against the whole document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, cast

from jsonschema.exceptions import ValidationError

from lifecycle.findings import Finding, join, one_of, show
from lifecycle.openapi import schema_registry, validator_for
from lifecycle.source import Document


def example_findings(document: Document) -> list[Finding]:
    """A finding for each example that does not validate against its schema."""
    registry = schema_registry(document.data)
    findings: list[Finding] = []
    for schema_pointer, example_pointer, example in _examples(document.data, []):
        validator = validator_for(registry, schema_pointer)
        try:
            errors = sorted(validator.iter_errors(example), key=lambda e: list(e.absolute_path))
        except Exception as problem:  # an unresolvable $ref inside the schema is reported, not raised
            findings.append(
                document.finding(schema_pointer, f"schema cannot be used to check examples: {problem}")
            )
            continue
        for error in errors[:3]:  # the first few say enough; a wrong example often breaks many rules
            where = join(example_pointer, *error.absolute_path)
            findings.append(
                document.finding(
                    where,
                    f"example does not validate against its schema at {schema_pointer}",
                    found=show(error.instance),
                    expected=_expectation(error),
                )
            )
    return findings


def _examples(node: Any, path: list[str | int]) -> Iterator[tuple[str, str, Any]]:
    """(schema pointer, example pointer, example value) for each example under ``node`` (at ``path``,
    the pointer's tokens: a pointer string is built only for an example, not for every node)."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            path.append(index)
            yield from _examples(item, path)
            path.pop()
        return
    if not isinstance(node, Mapping):
        return
    media_or_parameter = _is_media_or_parameter(node, path)
    schema_position = _is_schema_position(path)
    if media_or_parameter:
        schema_pointer = join("", *path, "schema")
        if "example" in node:
            yield schema_pointer, join("", *path, "example"), node["example"]
        for name, example in (node.get("examples") or {}).items():
            if isinstance(example, Mapping) and "value" in example:
                yield schema_pointer, join("", *path, "examples", name, "value"), example["value"]
    elif schema_position and isinstance(node.get("examples"), list):
        pointer = join("", *path)
        for index, example in enumerate(node["examples"]):
            yield pointer, join(pointer, "examples", index), example
    for key, value in node.items():
        if key in ("example", "examples") and (media_or_parameter or schema_position):
            continue
        path.append(key)
        yield from _examples(value, path)
        path.pop()


def _is_media_or_parameter(node: Mapping[str, Any], path: list[str | int]) -> bool:
    """A media type object (under content) or a parameter/header object: both pair a schema with examples."""
    if not isinstance(node.get("schema"), Mapping):
        return False
    parent = path[-2] if len(path) > 1 else None
    return parent == "content" or "in" in node or parent == "headers"


def _is_schema_position(path: list[str | int]) -> bool:
    """Whether the node at ``path`` is a JSON Schema (its ``examples`` is an array of instances)."""
    return "schema" in path or "schemas" in path


def _expectation(error: ValidationError) -> str:
    """What the schema wanted, phrased for the 'expected' part of a finding."""
    rule, value = error.validator, cast(Any, error.validator_value)
    if rule == "format":
        return f"a string of format {value!r}"
    if rule == "enum":
        return one_of(value)
    if rule == "type":
        return " or ".join(value) if isinstance(value, list) else str(value)
    if rule == "pattern":
        return f"a string matching {value}"
    return error.message

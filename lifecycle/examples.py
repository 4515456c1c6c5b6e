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
    for schema_pointer, example_pointer, example in _examples(document.data, ""):
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


def _examples(node: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    """(schema pointer, example pointer, example value) for each example under ``node``."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _examples(item, join(pointer, index))
        return
    if not isinstance(node, Mapping):
        return
    if _is_media_or_parameter(node, pointer):
        schema_pointer = join(pointer, "schema")
        if "example" in node:
            yield schema_pointer, join(pointer, "example"), node["example"]
        for name, example in (node.get("examples") or {}).items():
            if isinstance(example, Mapping) and "value" in example:
                yield schema_pointer, join(pointer, "examples", name, "value"), example["value"]
    elif _is_schema_position(pointer) and isinstance(node.get("examples"), list):
        for index, example in enumerate(node["examples"]):
            yield pointer, join(pointer, "examples", index), example
    for key, value in node.items():
        if key in ("example", "examples") and (
            _is_media_or_parameter(node, pointer) or _is_schema_position(pointer)
        ):
            continue
        yield from _examples(value, join(pointer, key))


def _is_media_or_parameter(node: Mapping[str, Any], pointer: str) -> bool:
    """A media type object (under content) or a parameter/header object: both pair a schema with examples."""
    if not isinstance(node.get("schema"), Mapping):
        return False
    parts = pointer.split("/")
    return "content" in parts[-2:-1] or "in" in node or "headers" in parts[-2:-1]


def _is_schema_position(pointer: str) -> bool:
    """Whether ``pointer`` is a JSON Schema (its ``examples`` is an array of instances)."""
    parts = pointer.split("/")
    return "schema" in parts or "schemas" in parts


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

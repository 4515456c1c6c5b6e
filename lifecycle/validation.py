"""JSON Schema validation whose errors read well: located, with found/expected and "did you mean".

Used for the ``x-lifecycle`` block of specs and for scenario files: both are validated against a
JSON Schema shipped in this package before they become model objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from lifecycle.findings import Finding, closest, join, one_of, show
from lifecycle.source import Document

_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


@cache
def shipped_validator(name: str) -> Draft202012Validator:
    """Validator for the JSON Schema ``lifecycle/schemas/<name>`` shipped with the package (loaded once)."""
    text = resources.files("lifecycle").joinpath("schemas", name).read_text(encoding="utf-8")
    return Draft202012Validator(json.loads(text))


def schema_findings(
    validator: Draft202012Validator, instance: Any, document: Document, base: str
) -> list[Finding]:
    """All violations of ``instance`` (found at ``base`` in ``document``), as findings."""
    findings: list[Finding] = []
    for error in validator.iter_errors(instance):
        findings.extend(_translate(error, document, base))
    return findings


def _translate(error: ValidationError, document: Document, base: str) -> Iterable[Finding]:
    pointer = join(base, *error.absolute_path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    keyword = error.validator
    rule: Any = error.validator_value  # typed loosely by jsonschema; its shape follows `keyword`
    if keyword == "required" and isinstance(instance, Mapping):
        for name in rule:
            if name not in instance:
                yield document.finding(pointer, "missing required key", expected=repr(name))
        return
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = set(schema.get("properties", {}))
        for key in instance:
            if key not in known:
                yield document.finding(
                    join(pointer, key),
                    "unknown key",
                    found=repr(key),
                    expected=one_of(known),
                    suggestion=closest(key, known),
                )
        return
    if keyword == "oneOf" and isinstance(instance, Mapping) and _tagged(rule):
        yield from _tagged_union(error, document, base, pointer)
        return
    if keyword in ("oneOf", "anyOf"):
        # the schema's own description says best what forms are allowed
        expected = schema.get("description", "one of the allowed forms")
        yield document.finding(
            pointer, "value has none of the allowed forms", found=show(instance), expected=expected
        )
        return
    if keyword in ("enum", "const"):
        allowed = rule if keyword == "enum" else [rule]
        hint = closest(instance, [str(a) for a in allowed]) if isinstance(instance, str) else None
        yield document.finding(
            pointer, "value not allowed", found=show(instance), expected=one_of(allowed), suggestion=hint
        )
        return
    if keyword == "type":
        names = " or ".join(rule) if isinstance(rule, list) else str(rule)
        found = f"{_TYPE_NAMES.get(type(instance), 'null')} {show(instance)}"
        yield document.finding(pointer, "wrong type", found=found, expected=names)
        return
    if keyword == "pattern":
        yield document.finding(
            pointer,
            "value does not match its pattern",
            found=show(instance),
            expected=f"a string matching {rule}",
        )
        return
    if keyword == "not" and isinstance(rule, Mapping) and set(rule) == {"required"}:
        together = ", ".join(repr(name) for name in rule["required"])
        yield document.finding(
            pointer, f"keys {together} cannot be used together", expected="only one of them"
        )
        return
    if keyword == "propertyNames":
        # jsonschema reports the offending name as the instance and the parent object as the path.
        cause = error.context[0] if error.context else None
        name = cause.instance if cause is not None else instance
        rule = cause.message if cause is not None else error.message
        yield document.finding(
            join(pointer, str(name)), "invalid name", found=show(name), expected=f"a valid name ({rule})"
        )
        return
    yield document.finding(pointer, error.message, found=show(instance))


def _tagged(branches: Any) -> bool:
    """True for a oneOf whose branches are told apart by a ``kind`` const (e.g. deviation effects)."""
    return isinstance(branches, list) and all(
        isinstance(b, Mapping) and "const" in b.get("properties", {}).get("kind", {}) for b in branches
    )


def _tagged_union(error: ValidationError, document: Document, base: str, pointer: str) -> Iterable[Finding]:
    branches: Any = error.validator_value
    kinds = [branch["properties"]["kind"]["const"] for branch in branches]
    instance: Any = error.instance
    kind = instance.get("kind")
    if kind not in kinds:
        hint = closest(kind, kinds) if isinstance(kind, str) else None
        if kind is None:
            yield document.finding(pointer, "missing required key", expected=repr("kind"))
        else:
            yield document.finding(
                join(pointer, "kind"),
                "value not allowed",
                found=show(kind),
                expected=one_of(kinds),
                suggestion=hint,
            )
        return
    index = kinds.index(kind)
    for cause in error.context or ():
        if cause.relative_schema_path and cause.relative_schema_path[0] == index:
            yield from _translate(cause, document, base)

"""A schema-valid request body for a spec that gives no example: the smallest body a client would
send, built from the schema (required properties, with examples, defaults, enums and formats where
the schema has them, one item per required array), ``--param NAME=VALUE`` for any property of that
name. Deterministic: the same spec gives the same body.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import jsonschema

from lifecycle.openapi import deref

_DEPTH = 12  # recursive schemas stop here
_FORMATS: dict[str, Any] = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "uuid": str(uuid.UUID(int=1, version=4)),
    "email": "comeback@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
}


def generated_body(document: Mapping[str, Any], schema: Mapping[str, Any], params: Mapping[str, str]) -> Any:
    """The body (see the module docstring); valid against ``schema`` whenever this simple reading of
    it can make one (``is_valid`` tells)."""
    return _value(document, schema, params, _DEPTH, required=True)


def is_valid(document: Mapping[str, Any], schema: Mapping[str, Any], body: Any) -> bool:
    root = {**document, **dict(schema)}
    return jsonschema.Draft202012Validator(root).is_valid(body)


def _value(
    document: Mapping[str, Any],
    node: Mapping[str, Any],
    params: Mapping[str, str],
    depth: int,
    *,
    required: bool,
) -> Any:
    schema = deref(document, node)
    if depth <= 0:
        return None
    for key in ("const", "example"):
        if key in schema and (schema[key] is not None or not required):
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if schema.get("default") is not None:
        return schema["default"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return next((v for v in schema["enum"] if v is not None), schema["enum"][0])
    options = [deref(document, o) for o in schema.get("anyOf") or schema.get("oneOf") or ()]
    types = _types(schema)
    if options and not types - {"object"}:
        usable = [o for o in options if "null" not in _types(o)] or options
        if "properties" in schema or "allOf" in schema:  # a shape plus alternatives: the first one's
            merged = {**schema, "required": [*schema.get("required", ()), *usable[0].get("required", ())]}
            merged.pop("anyOf", None)
            merged.pop("oneOf", None)
            return _value(document, merged, params, depth - 1, required=required)
        return _value(document, usable[0], params, depth - 1, required=required)
    if schema.get("allOf"):
        body: dict[str, Any] = {}
        for part in schema["allOf"]:
            made = _value(document, part, params, depth - 1, required=required)
            if isinstance(made, dict):
                body.update(made)
        return body
    kind = next(
        (t for t in ("object", "array", "string", "integer", "number", "boolean") if t in types), None
    )
    if kind is None and "properties" in schema:
        kind = "object"
    if kind == "object":
        return _object(document, schema, params, depth)
    if kind == "array":
        wanted = max(1, int(schema.get("minItems", 1))) if schema.get("maxItems", 1) else 0
        item = _value(document, schema.get("items") or {}, params, depth - 1, required=True)
        return [item] * wanted
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1
        )
        high = schema.get("maximum")
        chosen = min(low, high) if high is not None else low
        return int(chosen) if kind == "integer" else chosen
    if kind == "boolean":
        return True
    return None if "null" in types else {}


def _object(
    document: Mapping[str, Any], schema: Mapping[str, Any], params: Mapping[str, str], depth: int
) -> dict[str, Any]:
    properties = schema.get("properties") or {}
    body: dict[str, Any] = {}
    for name in schema.get("required") or ():
        body[name] = _value(document, properties.get(name) or {}, params, depth - 1, required=True)
    for name, node in properties.items():
        if name in params:
            body[name] = _coerce(params[name], deref(document, node))
    return body


def _string(schema: Mapping[str, Any]) -> str:
    text = str(_FORMATS.get(str(schema.get("format")), "comeback"))
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    text = text.ljust(low, "x")
    return text[: int(high)] if high is not None else text


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()


def _coerce(text: str, schema: Mapping[str, Any]) -> Any:
    """A ``--param`` value as the schema's type (numbers and booleans from their text)."""
    types = _types(schema)
    try:
        if "integer" in types:
            return int(text)
        if "number" in types:
            return float(text)
    except ValueError:
        return text
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text

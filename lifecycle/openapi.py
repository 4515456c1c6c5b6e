"""Read-only views over an OpenAPI 3.1 document: its operations and the schemas inside it.

Everything here walks plain dicts; nothing is compiled or fetched. Local ``$ref``s only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from lifecycle.findings import join, split

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the document, with path-level parameters merged in."""

    operation_id: str
    method: str
    path: str
    pointer: str
    definition: Mapping[str, Any]
    parameters: tuple[Mapping[str, Any], ...]

    def parameter(self, location: str, name: str) -> Mapping[str, Any] | None:
        return next((p for p in self.parameters if p.get("in") == location and p.get("name") == name), None)


def operations(document: Mapping[str, Any]) -> dict[str, Operation]:
    """All operations that have an operationId, keyed by it."""
    found: dict[str, Operation] = {}
    for path, item in (document.get("paths") or {}).items():
        if not isinstance(item, Mapping):
            continue
        shared = [deref(document, p) for p in item.get("parameters", ()) if isinstance(p, Mapping)]
        for method in HTTP_METHODS:
            definition = item.get(method)
            if not isinstance(definition, Mapping) or "operationId" not in definition:
                continue
            own = [deref(document, p) for p in definition.get("parameters", ()) if isinstance(p, Mapping)]
            own_keys = {(p.get("in"), p.get("name")) for p in own}
            merged = tuple(own + [p for p in shared if (p.get("in"), p.get("name")) not in own_keys])
            pointer = join("", "paths", path, method)
            found[definition["operationId"]] = Operation(
                definition["operationId"], method, path, pointer, definition, merged
            )
    return found


def deref(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s until a node without one (cycles stop after 32 hops)."""
    return deref_located(document, node, "")[0]


def deref_located(
    document: Mapping[str, Any], node: Mapping[str, Any], pointer: str
) -> tuple[Mapping[str, Any], str]:
    """Like ``deref``, also returning the pointer of the node finally reached."""
    for _ in range(32):
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        if not isinstance(ref, str) or not ref.startswith("#"):
            return node, pointer
        pointer = ref[1:]
        target: Any = document
        for token in split(pointer):
            target = target.get(token) if isinstance(target, Mapping) else None
        if not isinstance(target, Mapping):
            return {}, pointer
        node = target
    return node, pointer


def response_schema(
    document: Mapping[str, Any], operation: Operation, status: int, media_type: str = "application/json"
) -> tuple[Mapping[str, Any], str] | None:
    """The schema (and its pointer) of ``operation``'s ``status`` response body, if declared."""
    responses = operation.definition.get("responses") or {}
    key = str(status) if str(status) in responses else None
    if key is None:
        return None
    response, pointer = deref_located(document, responses[key], join(operation.pointer, "responses", key))
    media = (response.get("content") or {}).get(media_type)
    if not isinstance(media, Mapping) or "schema" not in media:
        return None
    return deref_located(document, media["schema"], join(pointer, "content", media_type, "schema"))


def request_schema(document: Mapping[str, Any], operation: Operation) -> tuple[Mapping[str, Any], str] | None:
    """The JSON request-body schema of ``operation`` and its pointer, if declared."""
    body = operation.definition.get("requestBody")
    if not isinstance(body, Mapping):
        return None
    body, pointer = deref_located(document, body, join(operation.pointer, "requestBody"))
    media = (body.get("content") or {}).get("application/json")
    if not isinstance(media, Mapping) or "schema" not in media:
        return None
    return deref_located(document, media["schema"], join(pointer, "content", "application/json", "schema"))


def subschemas_at(
    document: Mapping[str, Any], schema: Mapping[str, Any], pointer: str, field_pointer: str
) -> list[tuple[Mapping[str, Any], str]]:
    """Every subschema that may describe the value at ``field_pointer`` of an instance of ``schema``.

    Follows ``$ref``, the branches of allOf/anyOf/oneOf, ``properties`` and ``items``. An empty list
    means the schema has no place for that field.
    """
    current = list(_branches(document, schema, pointer))
    for token in split(field_pointer):
        following: list[tuple[Mapping[str, Any], str]] = []
        for node, node_pointer in current:
            properties = node.get("properties")
            if isinstance(properties, Mapping) and token in properties:
                following.extend(
                    _branches(document, properties[token], join(node_pointer, "properties", token))
                )
            elif token.isdigit() and isinstance(node.get("items"), Mapping):
                following.extend(_branches(document, node["items"], join(node_pointer, "items")))
        current = following
    return current


def _branches(
    document: Mapping[str, Any], schema: Mapping[str, Any], pointer: str
) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The schema itself and, recursively, its allOf/anyOf/oneOf branches, all dereferenced."""
    schema, pointer = deref_located(document, schema, pointer)
    yield schema, pointer
    for keyword in ("allOf", "anyOf", "oneOf"):
        for index, branch in enumerate(schema.get(keyword) or ()):
            if isinstance(branch, Mapping):
                yield from _branches(document, branch, join(pointer, keyword, index))


def allows_null(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return kind == "null" or (isinstance(kind, list) and "null" in kind)


_DOCUMENT_URI = "urn:comeback:spec"
_FORMATS = FormatChecker()


def schema_registry(document: Mapping[str, Any]) -> Registry[Any]:
    """A registry holding the whole document, so local ``$ref``s resolve from any schema in it."""
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_DOCUMENT_URI, resource)
    return registry


def validator_for(registry: Registry[Any], pointer: str) -> Draft202012Validator:
    """A JSON Schema 2020-12 validator (with format checks) for the schema at ``pointer``.

    Build it once and keep it: compiling per request or per example would be wasted work.
    """
    reference = f"{_DOCUMENT_URI}#{quote(pointer, safe='/~')}"
    return Draft202012Validator({"$ref": reference}, registry=registry, format_checker=_FORMATS)

"""Requests checked against the spec: parameters coerced and validated, JSON bodies parsed and validated.

Everything that can be prepared is prepared once per operation (``InputRules``); per request only
the values are checked. Problems are data (``Problem``), which each vendor turns into its own error
body and status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import jsonschema_rs
from starlette.requests import Request

from lifecycle.expressions import parse_expression
from lifecycle.findings import join
from lifecycle.openapi import Operation, deref_located
from mockserver.safejson import BadJson, loads

ProblemKind = Literal["missing", "invalid", "json", "content-type", "too-large"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a request: where (``loc`` as FastAPI-style path), what, and the input."""

    kind: ProblemKind
    loc: tuple[str | int, ...]
    message: str
    input: Any = None


@dataclass(frozen=True, slots=True)
class Inputs:
    """What validation found in a request: its inputs, the problems (none: valid) and the body as
    read (None when it was not read: refused by its declared length), which the journal keeps."""

    path: dict[str, Any]
    query: dict[str, Any]
    headers: Mapping[str, str]
    body: Any = None
    raw_body: bytes | None = b""
    problems: list[Problem] = field(default_factory=list)

    def evaluate(self, expression: str, response_body: Any = None) -> Any:
        """An OpenAPI runtime expression (``$request.path.id``) over these inputs."""
        parsed = parse_expression(expression)
        if parsed.location == "path":  # where most ids are, looked up twice per call: no keywords
            return self.path.get(parsed.name)
        return parsed.evaluate(
            path=self.path,
            query=self.query,
            headers=self.headers,
            request_body=self.body,
            response_body=response_body,
        )


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    validator: jsonschema_rs.Validator
    kinds: frozenset[str]  # the JSON types the schema allows (what the text is turned into)


@dataclass(frozen=True, slots=True)
class InputRules:
    """What one operation accepts, compiled from the spec."""

    parameters: tuple[_Parameter, ...]
    body_validator: jsonschema_rs.Validator | None
    body_required: bool
    max_body_bytes: int
    accepts_json: bool = field(default=False)

    @classmethod
    def compile(
        cls,
        document: Mapping[str, Any],
        registry: jsonschema_rs.Registry,
        operation: Operation,
        max_body_bytes: int,
        *,
        read_body: bool = True,
    ) -> InputRules:
        """Prepare the checks of ``operation``; ``read_body=False`` accepts any body unread."""
        parameters = []
        for parameter in operation.parameters:
            if parameter.get("in") not in ("path", "query", "header") or "schema" not in parameter:
                continue
            pointer = _parameter_pointer(document, operation, parameter)
            schema, _ = deref_located(document, parameter["schema"], pointer)
            parameters.append(
                _Parameter(
                    parameter["name"],
                    parameter["in"],
                    bool(parameter.get("required")),
                    schema,
                    fast_validator(registry, pointer),
                    _kinds(schema),
                )
            )
        body_validator, body_required, accepts_json = None, False, False
        body = operation.definition.get("requestBody") if read_body else None
        if isinstance(body, Mapping):
            body, body_pointer = deref_located(document, body, join(operation.pointer, "requestBody"))
            media = (body.get("content") or {}).get("application/json")
            body_required = bool(body.get("required"))
            if isinstance(media, Mapping):
                accepts_json = True
                if "schema" in media:
                    body_validator = fast_validator(
                        registry, join(body_pointer, "content", "application/json", "schema")
                    )
        return cls(tuple(parameters), body_validator, body_required, max_body_bytes, accepts_json)

    async def read(self, request: Request, headers: Mapping[str, str]) -> Inputs:
        """Validate ``request``: its inputs with the problems found and the body as read.
        ``headers``: the request's headers by lower-case name (the first value of a repeated one),
        read once by the caller."""
        problems: list[Problem] = []
        values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
        for parameter in self.parameters:
            raw = _raw_parameter(request, headers, parameter)
            if raw is None:
                if parameter.required:
                    problems.append(
                        Problem("missing", (parameter.location, parameter.name), "Field required")
                    )
                continue
            value = _coerce(raw, parameter.schema, parameter.kinds)
            try:
                error = (
                    None
                    if parameter.validator.is_valid(value)
                    else next(iter(parameter.validator.iter_errors(value)), None)
                )
            except (ValueError, UnicodeError, OverflowError, RecursionError) as refused:
                problems.append(Problem("invalid", (parameter.location, parameter.name), str(refused)))
                continue
            if error is not None:
                problems.append(
                    Problem(
                        "invalid",
                        (parameter.location, parameter.name, *error.instance_path),
                        error.message,
                        value,
                    )
                )
            values[parameter.location][parameter.name] = value
        body, raw_body = await self._read_body(request, headers, problems)
        return Inputs(values["path"], values["query"], headers, body, raw_body, problems)

    async def _read_body(
        self, request: Request, headers: Mapping[str, str], problems: list[Problem]
    ) -> tuple[Any, bytes | None]:
        if not _may_have_body(request.scope):  # most reads: the framing says there is no body
            if self.accepts_json and self.body_required:
                problems.append(Problem("missing", ("body",), "Field required"))
            return None, b""
        declared = headers.get("content-length")
        # a length of more than 18 digits is too large without turning it into a number
        if (
            declared is not None
            and declared.isdigit()
            and (len(declared) > 18 or int(declared) > self.max_body_bytes)
        ):
            problems.append(
                Problem("too-large", ("body",), f"Request body is larger than {self.max_body_bytes} bytes")
            )
            return None, None
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():  # read in chunks so an undeclared huge body is cut off early
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_body_bytes:
                problems.append(
                    Problem(
                        "too-large", ("body",), f"Request body is larger than {self.max_body_bytes} bytes"
                    )
                )
                return None, None
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if not self.accepts_json:
            return None, raw
        if not raw.strip():
            if self.body_required:
                problems.append(Problem("missing", ("body",), "Field required"))
            return None, raw
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json" and not media_type.endswith("+json"):
            problems.append(
                Problem(
                    "content-type",
                    ("body",),
                    f"Unsupported content type {media_type or '(none)'!r}; send application/json",
                    media_type,
                )
            )
            return None, raw
        try:
            body = loads(raw)  # refuses what json.loads lets through but nothing after could survive
        except BadJson as decode_error:
            problems.append(
                Problem("json", ("body",), str(decode_error), raw[:200].decode("utf-8", "replace"))
            )
            return None, raw
        if self.body_validator is not None:
            try:
                valid = self.body_validator.is_valid(body)
                errors = (
                    []
                    if valid
                    else sorted(self.body_validator.iter_errors(body), key=lambda e: list(e.instance_path))
                )
            except (ValueError, UnicodeError, OverflowError, RecursionError) as refused:
                problems.append(Problem("invalid", ("body",), f"cannot validate this body: {refused}"))
                return None, raw
            for invalid in errors[:10]:
                problems.append(
                    Problem("invalid", ("body", *invalid.instance_path), invalid.message, invalid.instance)
                )
        return body, raw


def header_dict(scope: Mapping[str, Any]) -> dict[str, str]:
    """A request's headers by lower-case name, in one pass over the scope: names in first-seen order,
    the first value of a repeated name (what ``Headers.get`` answers; ``Headers`` would scan the
    list again for every name looked up)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        key = name.decode("latin-1").lower()
        if key not in found:
            found[key] = value.decode("latin-1")
    return found


def _may_have_body(scope: Mapping[str, Any]) -> bool:
    """False when HTTP/1.x framing says the body is empty: neither ``Content-Length`` (other than 0)
    nor ``Transfer-Encoding``. Then the server's empty body message is not waited for (a status
    read, the commonest request, saves a round through the event loop)."""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return True
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


def _parameter_pointer(
    document: Mapping[str, Any], operation: Operation, parameter: Mapping[str, Any]
) -> str:
    """Pointer of the parameter's schema, whether declared on the operation, its path, or via $ref."""
    path_item_pointer = join("", "paths", operation.path)
    containers = (
        (operation.definition, operation.pointer),
        (document["paths"][operation.path], path_item_pointer),
    )
    for container, base in containers:
        for position, candidate in enumerate(container.get("parameters") or ()):
            node, pointer = deref_located(document, candidate, join(base, "parameters", position))
            if node is parameter:
                return join(pointer, "schema")
    raise LookupError(f"parameter {parameter.get('name')!r} is not declared on {operation.operation_id!r}")


def _raw_parameter(
    request: Request, headers: Mapping[str, str], parameter: _Parameter
) -> str | list[str] | None:
    if parameter.location == "path":
        value = request.path_params.get(parameter.name)
        return None if value is None else str(value)
    if parameter.location == "header":
        return headers.get(parameter.name.lower())
    if not request.scope.get("query_string"):
        return None  # no query string: nothing to parse
    if _is_array(parameter.schema):
        values = request.query_params.getlist(parameter.name) or request.query_params.getlist(
            parameter.name + "[]"
        )
        return values or None
    return request.query_params.get(parameter.name)


def _is_array(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    return (
        kind == "array"
        or (isinstance(kind, list) and "array" in kind)
        or any(
            isinstance(branch, Mapping) and branch.get("type") == "array"
            for branch in schema.get("anyOf", ())
        )
    )


def _kinds(schema: Mapping[str, Any]) -> frozenset[str]:
    """The JSON types a parameter's schema allows (its ``type`` and its ``anyOf`` branches' types)."""
    kinds = schema.get("type")
    found = [kinds] if isinstance(kinds, str) else list(kinds or [])
    for branch in schema.get("anyOf", ()):
        if isinstance(branch, Mapping) and isinstance(branch.get("type"), str):
            found.append(branch["type"])
    return frozenset(found)


def _coerce(raw: str | list[str], schema: Mapping[str, Any], kinds: frozenset[str] | None = None) -> Any:
    """Turn query/path/header text into the JSON type the schema wants, when it reads as one
    (``kinds``: the schema's ``_kinds``, when the caller has them already)."""
    if isinstance(raw, list):
        items: Any = schema.get("items") or next(
            (b.get("items") for b in schema.get("anyOf", ()) if isinstance(b, Mapping) and "items" in b), {}
        )
        return [_coerce(item, items if isinstance(items, Mapping) else {}) for item in raw]
    if kinds is None:
        kinds = _kinds(schema)
    if not kinds & _CONVERTED:
        return raw  # a string (or untyped) parameter: the text is the value
    if "integer" in kinds and raw.lstrip("-").isdecimal() and raw.isascii() and len(raw) <= 4300:
        return int(raw)
    if "number" in kinds:
        try:
            number = float(raw)
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw  # NaN, inf, 1e400: left as text, so refused
    if "boolean" in kinds and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if "null" in kinds and raw in ("", "null"):
        return None
    return raw


_CONVERTED = frozenset({"integer", "number", "boolean", "null"})
_DOCUMENT_URI = "urn:comeback:spec"


def fast_registry(document: Mapping[str, Any]) -> jsonschema_rs.Registry:
    """The spec as a registry for the compiled validator (local ``$ref``s resolve against it)."""
    return jsonschema_rs.Registry([(_DOCUMENT_URI, dict(document))])


def fast_validator(registry: jsonschema_rs.Registry, pointer: str) -> jsonschema_rs.Validator:
    """A compiled JSON Schema 2020-12 validator for the schema at ``pointer``: requests are checked
    on every call, and this is two orders of magnitude faster than the pure-Python one. Its
    ``pattern`` follows ECMA-262, as JSON Schema says, where Python's ``re`` differs on ``\\s``."""
    reference = f"{_DOCUMENT_URI}#{quote(pointer, safe='/~')}"
    return jsonschema_rs.Draft202012Validator({"$ref": reference}, registry=registry, validate_formats=True)

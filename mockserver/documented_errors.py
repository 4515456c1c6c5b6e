"""Errors in the shape a user's spec documents.

The generic error answers (``error_shape.ErrorShape``, of an API without a vendor of its own) are
FastAPI's: ``{"detail": "..."}`` and, for invalid input, ``{"detail": [{"loc", "msg", "type"}]}``.
A spec may document its errors otherwise (``{"detail": "text"}`` for a 422, ``{"error": {"code",
"message"}}``...). For each error response the mock sends, ``DocumentedErrors.conform`` keeps the
generic body when it conforms to what the operation documents for that status, and otherwise
answers the documented shape: seeded fake data valid against that schema, with the message written
into its message fields (``detail``, ``message``, ``error``, ...), a code field set to the status'
word (``not_found``, ``invalid_request``) or number where the schema allows it. Statuses without a
documented JSON body keep the generic one.

    documented = DocumentedErrors(spec.data, seed)
    response = documented.conform(operation, response)   # each 4xx/5xx of an API without its own
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from starlette.responses import Response

from lifecycle.findings import join
from lifecycle.openapi import Operation, deref_located, schema_registry, subschemas_at, validator_for
from mockserver.fake import FakeData
from mockserver.render import json_copy
from mockserver.responses import JSONResponse

MESSAGE_KEYS = ("detail", "message", "error", "msg", "error_message", "description", "title", "reason")
CODE_KEYS = ("code", "error_code", "status", "kind")
# words a code enum may use for a status, best first
STATUS_WORDS: Mapping[int, tuple[str, ...]] = {
    400: ("invalid_request", "bad_request", "invalid", "validation"),
    401: ("unauthorized", "unauthenticated", "authentication"),
    403: ("forbidden", "permission"),
    404: ("not_found", "notfound", "missing"),
    409: ("conflict", "duplicate", "already_exists"),
    413: ("too_large", "payload_too_large", "invalid_request"),
    422: ("validation_error", "invalid_request", "unprocessable", "invalid", "validation", "bad_request"),
    429: ("rate_limited", "rate_limit", "too_many_requests"),
    500: ("internal", "internal_error", "server_error"),
    503: ("unavailable", "service_unavailable", "overloaded"),
}


@dataclass(frozen=True, slots=True)
class _Shape:
    """One documented error body: a valid base value, where the message goes, what the code says."""

    validator: Draft202012Validator
    base: Any
    messages: tuple[tuple[str | int, ...], ...]  # paths of fields that take the message


class DocumentedErrors:
    """The documented error shapes of one spec, worked out once per operation and status."""

    def __init__(self, document: Mapping[str, Any], seed: int) -> None:
        self.document = document
        self.seed = seed
        self._shapes: dict[tuple[str, int], _Shape | None] = {}

    @cached_property
    def _registry(self) -> Registry[Any]:
        return schema_registry(self.document)

    @cached_property
    def _fake(self) -> FakeData:
        return FakeData(self.document)

    def conform(self, operation: Operation, response: Response) -> Response:
        """``response`` as it is, or the documented shape carrying its message (same status, headers)."""
        status = response.status_code
        if status < 400 or not isinstance(response, JSONResponse):
            return response
        shape = self._shape(operation, status)
        if shape is None:
            return response
        try:
            body = json.loads(bytes(response.body)) if response.body else None
        except ValueError:
            body = None
        if shape.validator.is_valid(body):
            return response
        answer = JSONResponse(self.body(shape, message_of(body, status)), status_code=status)
        for name, value in response.headers.items():
            if name not in ("content-length", "content-type"):
                answer.headers[name] = value
        return answer

    def body(self, shape: _Shape, message: str) -> Any:
        """The shape's base with ``message`` in its message fields (cut to fit when a field is bounded)."""
        for text in (message, message[:64], message[:16]):
            body = json_copy(shape.base)
            for path in shape.messages:
                _set(body, path, text)
            if shape.validator.is_valid(body):
                return body
        return json_copy(shape.base)

    def _shape(self, operation: Operation, status: int) -> _Shape | None:
        key = (operation.operation_id, status)
        if key not in self._shapes:
            self._shapes[key] = self._build(operation, status)
        return self._shapes[key]

    def _build(self, operation: Operation, status: int) -> _Shape | None:
        located = _documented_schema(self.document, operation, status)
        if located is None:
            return None
        schema, pointer = located
        validator = validator_for(self._registry, pointer)
        base = self._fake.value(schema, f"{self.seed}:error:{pointer}")
        if not validator.is_valid(base):
            return None  # a schema the fake data cannot satisfy: keep the generic body
        probe = "comeback-probe"
        messages: list[tuple[str | int, ...]] = []
        for path, value in _fields(base):
            name = path[-1]
            if not isinstance(name, str):
                continue
            if name.lower() in MESSAGE_KEYS and not isinstance(value, (dict, list)):
                if _accepts(validator, base, path, probe):
                    messages.append(path)
            elif name.lower() in CODE_KEYS:
                _set_code(self.document, schema, pointer, validator, base, path, status)
        return _Shape(validator, base, tuple(messages))


def message_of(body: Any, status: int) -> str:
    """The message a generic error body carries (FastAPI's problems joined into one line)."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, str) and detail:
        return detail
    if isinstance(detail, list) and detail:
        parts = []
        for problem in detail:
            if isinstance(problem, dict):
                where = ".".join(str(part) for part in problem.get("loc") or ())
                parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
        if parts:
            return "; ".join(parts)
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _documented_schema(
    document: Mapping[str, Any], operation: Operation, status: int
) -> tuple[Mapping[str, Any], str] | None:
    """The JSON body schema documented for ``status`` (exact, then ``4XX``, then ``default``)."""
    responses = operation.definition.get("responses") or {}
    code = next((c for c in (str(status), f"{str(status)[0]}XX", "default") if c in responses), None)
    if code is None:
        return None
    response, at = deref_located(document, responses[code], join(operation.pointer, "responses", code))
    media = (response.get("content") or {}).get("application/json") if isinstance(response, Mapping) else None
    if not isinstance(media, Mapping) or "schema" not in media:
        return None
    return deref_located(document, media["schema"], join(at, "content", "application/json", "schema"))


def _fields(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every (path, value) inside ``value`` (objects and the first item of arrays), depth first."""
    found: list[tuple[tuple[str | int, ...], Any]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            found.append(((*path, key), item))
            found.extend(_fields(item, (*path, key)))
    elif isinstance(value, list) and value:
        found.extend(_fields(value[0], (*path, 0)))
    return found


def _set(body: Any, path: tuple[str | int, ...], value: Any) -> None:
    target = body
    for token in path[:-1]:
        target = target[token]
    target[path[-1]] = value


def _accepts(validator: Draft202012Validator, base: Any, path: tuple[str | int, ...], value: Any) -> bool:
    trial = json_copy(base)
    _set(trial, path, value)
    return bool(validator.is_valid(trial))


def _set_code(  # noqa: PLR0917 (private: the shape being built, its schema and the field)
    document: Mapping[str, Any],
    schema: Mapping[str, Any],
    pointer: str,
    validator: Draft202012Validator,
    base: Any,
    path: tuple[str | int, ...],
    status: int,
) -> None:
    """Write the status into a code field: its number, or the enum value that names it."""
    field_pointer = "".join(f"/{token}" for token in path)
    enum = [
        value
        for node, _ in subschemas_at(document, schema, pointer, field_pointer)
        for value in node.get("enum") or ()
        if isinstance(value, str)
    ]
    words = STATUS_WORDS.get(status, ())
    candidates: list[Any] = [status, str(status)]
    candidates += [value for word in words for value in enum if word in value.lower()]
    for candidate in candidates:
        if _accepts(validator, base, path, candidate):
            _set(base, path, candidate)
            return

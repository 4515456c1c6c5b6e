"""Strict mode: every response the mock sends is validated against the spec first.

A violation is turned into a 500 ``application/problem+json`` naming the operation, the status and
each difference, so a bug in the mock can never pass as a conforming answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from starlette.responses import JSONResponse, Response

from lifecycle.findings import join
from lifecycle.openapi import Operation, deref_located, validator_for


class ResponseChecker:
    """Validators for one spec's responses, compiled on first use and kept."""

    def __init__(self, document: Mapping[str, Any], registry: Registry[Any]) -> None:
        self.document = document
        self.registry = registry
        self._validators: dict[tuple[str, int], Draft202012Validator | None] = {}

    def problems(self, operation: Operation, response: Response) -> list[str]:
        """What is wrong with ``response`` as an answer of ``operation`` (empty when it conforms)."""
        status = response.status_code
        responses = operation.definition.get("responses") or {}
        if (
            str(status) not in responses
            and f"{str(status)[0]}XX" not in responses
            and "default" not in responses
        ):
            return [f"status {status} is not documented for {operation.operation_id}"]
        if not isinstance(response, JSONResponse):
            return []
        validator = self._validator(operation, status)
        if validator is None:
            return []
        body = json.loads(bytes(response.body)) if response.body else None
        return [
            f"{join('', *error.absolute_path) or '/'}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))[:10]
        ]

    def _validator(self, operation: Operation, status: int) -> Draft202012Validator | None:
        key = (operation.operation_id, status)
        if key not in self._validators:
            responses = operation.definition.get("responses") or {}
            code = (
                str(status)
                if str(status) in responses
                else f"{str(status)[0]}XX"
                if f"{str(status)[0]}XX" in responses
                else "default"
            )
            response, pointer = deref_located(
                self.document, responses[code], join(operation.pointer, "responses", code)
            )
            media = (response.get("content") or {}).get("application/json")
            schema_pointer = join(pointer, "content", "application/json", "schema")
            self._validators[key] = (
                validator_for(self.registry, schema_pointer)
                if isinstance(media, Mapping) and "schema" in media
                else None
            )
        return self._validators[key]


def violation(operation: Operation, status: int, problems: list[str]) -> Response:
    body = {
        "type": "https://comeback.invalid/problems/strict-mode",
        "title": "The mock's response violates its own spec",
        "status": 500,
        "detail": f"{operation.operation_id} answered {status}, which does not conform to the spec",
        "operation": operation.operation_id,
        "violations": problems,
    }
    return JSONResponse(body, status_code=500, media_type="application/problem+json")

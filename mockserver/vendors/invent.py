"""Invent chat messages: permissive ``{statusCode, message, error}`` errors (I-A6), page/take paging
with ``pagination-*`` headers (I-A5), and message edits that keep the lifecycle."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from starlette.responses import JSONResponse, Response

from lifecycle.openapi import Operation
from mockserver.inputs import Problem
from mockserver.store import Resource
from mockserver.vendors.base import Call, Vendor


class Invent(Vendor):
    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        body = {"statusCode": status, "message": message, "error": HTTPStatus(status).phrase}
        return JSONResponse(body, status_code=status, headers=headers)

    def validation_error(self, problems: list[Problem]) -> Response:
        messages = [f"{'.'.join(str(part) for part in p.loc)}: {p.message}" for p in problems]
        return JSONResponse({"statusCode": 400, "message": messages, "error": "Bad Request"}, status_code=400)

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"Message {resource_id} not found")

    def unauthorized(self) -> Response:
        return self.error(401, "Invalid or missing API key")

    def prepare(self, resource: Resource, operation: Operation, body: Any) -> Any:
        body = super().prepare(resource, operation, body)
        if isinstance(body, dict) and "role" in body:
            body["role"] = "assistant"  # the created message is the assistant's work item (I-A4)
        return body

    def page(self, call: Call, resources: list[Resource]) -> tuple[list[Resource], dict[str, str]]:
        page = int(call.inputs.query.get("page", 1))
        take = int(call.inputs.query.get("take", 100))
        chosen = resources[(page - 1) * take : page * take]
        headers = {
            "pagination-count": str(len(resources)),
            "pagination-page": str(page),
            "pagination-take": str(take),
        }
        return chosen, headers

    async def handle_editChatMessage(self, call: Call) -> Response:  # named after the operationId
        found = self.locate_view(call)
        if isinstance(found, Response):
            return found
        found.extra["edited"] = call.inputs.body["message"]  # an edit changes content, never the lifecycle
        return self.respond(call, self.decorate(call, found, self.view_body(call, found)))

    def decorate(self, call: Call, resource: Resource | None, body: Any) -> Any:
        edited = resource.extra.get("edited") if resource is not None else None
        if edited is not None and isinstance(body, dict):
            body["messages"] = [{"role": "user", "parts": edited}]
        return body

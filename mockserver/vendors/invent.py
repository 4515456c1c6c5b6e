"""Invent chat messages: permissive ``{statusCode, message, error}`` errors (I-A6), page/take paging
with ``pagination-*`` headers (I-A5), and message edits that keep the lifecycle."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from lifecycle.openapi import Operation
from mockserver.conversation import count_tokens, text_of
from mockserver.inputs import Problem
from mockserver.responses import JSONResponse
from mockserver.store import Resource
from mockserver.streams import reply_delivered
from mockserver.vendors.base import Answer, Call, Vendor


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
        """Values a real server sends where the schema is open (made once per resource)."""
        body = super().prepare(resource, operation, body)
        if isinstance(body, dict) and "role" in body:
            body["role"] = "assistant"  # the created message is the assistant's work item (I-A4)
            body["model"] = "gpt-4o"
            body["tools"] = []
            body["features"] = {"web_search": {"enabled": False}, "reasoning": {"effort": "low"}}
            body["is_broadcast_message"] = False
            for invented in ("broadcast_id", "member"):  # only broadcast or member-sent messages have them
                body.pop(invented, None)
        return body

    def page(self, call: Call, resources: list[Resource]) -> tuple[list[Resource], dict[str, str]]:
        query = call.inputs.query
        if query.get("from_date"):
            since = _timestamp(str(query["from_date"]))
            resources = [r for r in resources if since is None or r.created_at >= since]
        page = int(query.get("page", 1))
        token = _page_of_token(str(query["next"])) if query.get("next") else page
        page = token or page
        take = int(query.get("take", 100))
        # an unreadable token is a cursor to nowhere: an empty page, so a paging client stops
        chosen = resources[(page - 1) * take : page * take] if token else []
        headers = {
            "pagination-count": str(len(resources)),
            "pagination-page": str(page),
            "pagination-take": str(take),
        }
        return chosen, headers

    async def handle_editChatMessage(self, call: Call) -> Answer:  # named after the operationId
        found = await self.locate_view(call)
        if isinstance(found, Response):
            return found, None
        # an edit changes content, never the lifecycle
        await self.engine.state.put_extra(found, "edited", call.inputs.body["message"])
        return self.respond(call, self.decorate(call, found, self.view_body(call, found))), found

    def decorate(self, call: Call, resource: Resource | None, body: Any) -> Any:
        """The message's conversation: the user's parts (as edited) and the reply so far, with usage
        counted from those texts (input + output = total)."""
        if resource is None or not isinstance(body, dict):
            return body
        request = resource.request if isinstance(resource.request, dict) else {}
        user_parts = resource.extra.get("edited") or request.get("message") or []
        reply = reply_delivered(self.engine, resource)
        body["messages"] = [{"role": "user", "parts": user_parts}]
        if reply:
            body["messages"].append({"role": "assistant", "parts": [{"type": "text", "text": reply}]})
        input_tokens, output_tokens = count_tokens(text_of(user_parts)), count_tokens(reply)
        body["usage"] = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens,
        }
        return body


def _timestamp(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _page_of_token(token: str) -> int | None:
    """The page a ``next`` token names: base64url JSON ``{"page": N}``, as the spec's example
    ``eyJwYWdlIjoyfQ`` (decision I-A5). Anything else names no page."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        return None
    page = decoded.get("page") if isinstance(decoded, dict) else None
    return page if isinstance(page, int) and page >= 1 else None

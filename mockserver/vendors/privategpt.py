"""PrivateGPT async messages: what the real server does that the generic handlers do not.

Validation errors and duplicate ids are 400 with the Anthropic-style envelope (apis.md P-A4, P-A5),
unknown ids are 404 ``Stream with message_id <id> not found``, delete answers 200 with JSON null
(P-A1), and cancel answers the same 200 for finished streams.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from starlette.responses import Response

from lifecycle.openapi import Operation
from lifecycle.timeline import Timeline
from mockserver.conversation import count_tokens, text_of
from mockserver.inputs import Problem
from mockserver.responses import JSONResponse
from mockserver.store import Resource
from mockserver.streams import Encoder, frame, reply_tokens
from mockserver.vendors.base import Answer, Call, Vendor

_WWW_AUTHENTICATE = {"WWW-Authenticate": 'Basic realm="All the API", charset="UTF-8"'}


class PrivateGpt(Vendor):
    unread_bodies = frozenset({"cancelAsyncMessage"})  # deviation cancel-body-ignored in the spec

    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        if status in (401, 404, 405):  # FastAPI's own answers: {"detail": ...}
            return JSONResponse({"detail": message}, status_code=status, headers=headers)
        return self._envelope(status, message, "ValueError", message, headers)

    def _envelope(
        self,
        status: int,
        explanation: Any,
        exception_type: str,
        exception_message: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        kind, title, code = ("invalid_request_error", "Invalid Request Error", "INVALID_REQUEST_ERROR")
        if status >= 500:
            kind, title, code = ("api_error", "Api Error", "API_ERROR")
        body = {
            "type": "error",
            "error": {"type": kind, "message": title, "detail": {"code": code, "explanation": explanation}},
            "request_id": None,
            "exception": {"type": exception_type, "message": exception_message},
            "detail": explanation,
        }
        return JSONResponse(body, status_code=status, headers=headers)

    def validation_error(self, problems: list[Problem]) -> Response:
        explanation = [
            {"type": _problem_type(p), "loc": list(p.loc), "msg": p.message, "input": _plain(p.input)}
            for p in problems
        ]
        return self._envelope(
            400, explanation, "RequestValidationError", f"{len(problems)} validation error(s)"
        )

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"Stream with message_id {resource_id} not found")

    def unauthorized(self) -> Response:
        return self.error(401, "Not authenticated", _WWW_AUTHENTICATE)

    def duplicate(self, resource_id: str) -> Response:
        return self.error(400, f"Stream with message_id {resource_id} already exists")

    def prepare(self, resource: Resource, operation: Operation, body: Any) -> Any:
        body = super().prepare(resource, operation, body)
        if not isinstance(body, dict):
            return body
        request = resource.request if isinstance(resource.request, dict) else {}
        if operation.operation_id == "createAsyncMessage":
            body["message"] = "Request initiated successfully"
        elif operation.operation_id == "getAsyncMessageStatus":
            thinking = request.get("thinking")
            body["stream_type"] = "chat_completion"
            body["metadata"] = {
                "message_count": len(request.get("messages") or []),
                "thinking_enabled": bool(thinking.get("enabled")) if isinstance(thinking, dict) else False,
            }
        elif operation.operation_id == "cancelAsyncMessage":
            body = {"message": "Stream cancelled successfully", "message_id": resource.id}
        return body

    def stream_encoder(self) -> Encoder:
        return _Frames(self.engine.settings.seed)

    async def delete(self, call: Call) -> Answer:
        response, resource = await super().delete(call)
        if response.status_code != 200:
            return response, resource
        return JSONResponse(None), resource  # what real servers send (P-A1); the spec documents 204 as well


def _problem_type(problem: Problem) -> str:
    return {
        "missing": "missing",
        "json": "json_invalid",
        "content-type": "model_attributes_type",
        "too-large": "value_error",
    }.get(problem.kind, "value_error")


def _plain(value: Any) -> Any:
    """Inputs echoed in errors, as the server stringifies them (short)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = value if isinstance(value, str) else repr(value)
    return text[:200]


class _Frames:
    """PrivateGPT's Anthropic-style events: ``event:`` + ``data:`` with the same ``type``; token counts
    are those of the request's messages and of the reply."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def opening(self, resource: Resource) -> list[str]:
        request = resource.request if isinstance(resource.request, dict) else {}
        prompt = [m.get("content") for m in request.get("messages") or [] if isinstance(m, dict)]
        message: dict[str, Any] = {
            "id": "msg_" + _hex(resource, "message"),
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": "private-gpt",
            "stop_reason": None,
            "usage": {"input_tokens": count_tokens(text_of(prompt)), "output_tokens": 0},
        }
        block = {
            "type": "content_block_start",
            "index": 0,
            "block_id": "block_" + _hex(resource, "block"),
            "content_block": {"type": "text", "text": ""},
        }
        return [_event({"type": "message_start", "message": message}), _event(block)]

    def token(self, resource: Resource, text: str, index: int) -> str:
        # every token frame of a resource is the same around its text: encoded once, per resource
        before, after = _token_frame("block_" + _hex(resource, "block"))
        return before + json.dumps(text) + after

    def closing(self, resource: Resource, timeline: Timeline) -> list[str]:
        if timeline.state == "completed":
            return [
                _event(
                    {"type": "content_block_stop", "index": 0, "block_id": "block_" + _hex(resource, "block")}
                ),
                _event(
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": count_tokens("".join(reply_tokens(self.seed, resource)))},
                    }
                ),
                _event({"type": "message_stop"}),
            ]
        if timeline.state in (
            "error",
            "failed",
        ):  # the error event comes before the error status (apis.md 1.6)
            message = str(timeline.values.get("error_message") or "The model failed")
            error = {
                "type": "error",
                "error": {
                    "type": "api_error",
                    "message": "Api Error",
                    "detail": {"code": "API_ERROR", "explanation": message},
                },
                "request_id": resource.id,
                "exception": {"type": "RuntimeError", "message": message},
            }
            return [_event(error)]
        return []  # cancelled: the stream just closes, no final event (P-A6)

    def keepalive(self, resource: Resource) -> str:
        return _event({"type": "ping"})


def _event(payload: dict[str, Any]) -> str:
    return frame(json.dumps(payload, separators=(",", ":")), event=str(payload["type"]))


@lru_cache(maxsize=16384)  # one entry per open stream
def _token_frame(block_id: str) -> tuple[str, str]:
    """A token frame of ``block_id`` split around where its text goes (``_event`` makes it)."""
    marker = "\x00"
    delta = {
        "type": "content_block_delta",
        "index": 0,
        "block_id": block_id,
        "delta": {"type": "text_delta", "text": marker},
    }
    before, after = _event(delta).split(json.dumps(marker), 1)
    return before, after


def _hex(resource: Resource, kind: str) -> str:
    return _digest(f"{kind}:{resource.id}")


@lru_cache(maxsize=16384)  # a stream asks for its ids on every frame
def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]

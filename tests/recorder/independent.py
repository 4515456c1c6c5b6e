"""A small PrivateGPT-like server written for the recorder tests: not the mock, sharing no code with it.

Each message follows a plan picked by a word in the request (real time, from its creation):

- ``regress``: pending, processing at 0.3 s, back to pending at 0.6 s (the lifecycle forbids that),
  processing again at 0.9 s, completed at 1.2 s; its stream sends a fixed reply while processing.
- ``leaky``: pending, then completed at 0.3 s with an ``error_message`` (a completed message must
  not have one) that quotes the caller's credential, as a careless server might.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PLANS: dict[str, list[tuple[float, str]]] = {
    "regress": [
        (0.0, "pending"),
        (0.3, "processing"),
        (0.6, "pending"),
        (0.9, "processing"),
        (1.2, "completed"),
    ],
    "leaky": [(0.0, "pending"), (0.3, "completed")],
}
REPLY = "Hello from an independent server, word by word."


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Messages:
    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def status(self, message_id: str) -> str:
        item = self.items[message_id]
        age = time.monotonic() - item["born"]
        return [state for start, state in PLANS[item["plan"]] if start <= age][-1]


def create_app() -> Starlette:
    messages = _Messages()

    async def create(request: Request) -> Response:
        credential = request.headers.get("authorization")
        if not credential:
            return JSONResponse({"detail": "Not authenticated"}, status_code=401)
        body = await request.json()
        text = str(body["messages"][-1]["content"])
        plan = next((name for name in PLANS if name in text), "regress")
        message_id = str(uuid.uuid4())
        messages.items[message_id] = {
            "plan": plan,
            "born": time.monotonic(),
            "wall": time.time(),
            "credential": credential,
        }
        return JSONResponse({"message_id": message_id, "status": "pending"})

    async def status(request: Request) -> Response:
        message_id = request.path_params["message_id"]
        if message_id not in messages.items:
            return JSONResponse({"detail": f"Stream with message_id {message_id} not found"}, status_code=404)
        item, state = messages.items[message_id], messages.status(message_id)
        done = state == "completed"
        return JSONResponse(
            {
                "message_id": message_id,
                "status": state,
                "created_at": _stamp(item["wall"]),
                "updated_at": _stamp(time.time()),
                "completed_at": _stamp(time.time()) if done else None,
                "error_message": f"quota exceeded for key {item['credential']}"
                if done and item["plan"] == "leaky"
                else None,
                "metadata": {},
            }
        )

    async def stream(request: Request) -> Response:
        message_id = request.path_params["message_id"]

        async def frames() -> AsyncIterator[str]:
            while messages.status(message_id) == "pending":
                await asyncio.sleep(0.02)
            yield 'event: message_start\ndata: {"type":"message_start"}\n\n'
            for word in REPLY.split(" "):
                text = word + " "
                delta = json.dumps(
                    {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}}
                )
                yield f"event: content_block_delta\ndata: {delta}\n\n"
                await asyncio.sleep(0.03)
            while messages.status(message_id) != "completed":
                await asyncio.sleep(0.02)
            yield 'event: message_stop\ndata: {"type":"message_stop"}\n\n'

        return StreamingResponse(frames(), media_type="text/event-stream")

    return Starlette(
        routes=[
            Route("/v1/messages/async", create, methods=["POST"]),
            Route("/v1/messages/async/{message_id}/status", status, methods=["GET"]),
            Route("/v1/messages/async/{message_id}/stream", stream, methods=["GET"]),
        ]
    )

"""An independent implementation of PrivateGPT's async messages (create, status, stream, cancel,
delete), written from the vendor documents with the standard library: no code from the mock.

Requests are validated against the spec's own request schema (jsonschema), as PrivateGPT's
FastAPI models would; errors are the 400 envelope real servers send. A message is pending, then
processing after 0.2 s, then completed after ``Defects.work_seconds``.

Rule defect, switched in ``Defects.extra``: ``status_early`` (the status shows completed this many
seconds before the stream has sent the reply: view-agrees-with-stream).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from tests.servers.base import Handler, Route, route
from tests.servers.schemas import read_body


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class PrivateGpt(Handler):
    routes: ClassVar[list[Route]] = [
        route("POST", r"/v1/messages/async", "create"),
        route("GET", r"/v1/messages/async/(?P<mid>[^/]+)/status", "status"),
        route("GET", r"/v1/messages/async/(?P<mid>[^/]+)/stream", "stream"),
        route("POST", r"/v1/messages/async/(?P<mid>[^/]+)/cancel", "cancel"),
        route("DELETE", r"/v1/messages/async/(?P<mid>[^/]+)/delete", "delete"),
    ]

    # -- state ------------------------------------------------------------------------------------
    def _messages(self) -> dict[str, dict[str, Any]]:
        messages: dict[str, dict[str, Any]] = self.server.state.setdefault("messages", {})
        return messages

    def _view(self, message: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        status, changed = message["status"], message["updated"]
        if status in ("pending", "processing"):
            done_at = (
                message["created"]
                + self.defects.work_seconds
                - float(self.defects.extra.get("status_early", 0))
            )
            if now >= done_at:
                status, changed = "completed", done_at
            elif now >= message["created"] + 0.2:
                status, changed = "processing", message["created"] + 0.2
        flips = self.defects.cancel_flips_after
        if status == "cancelled" and flips is not None and now >= message["updated"] + flips:
            status = "completed"
        terminal = status in ("completed", "cancelled", "error")
        return {
            "message_id": message["id"],
            "status": status,
            "created_at": _stamp(message["created"]),
            "updated_at": _stamp(changed),
            "completed_at": _stamp(changed) if terminal else None,
            "error_message": None,
        }

    def _find(self, mid: str) -> dict[str, Any] | None:
        message = self._messages().get(mid)
        if message is None:
            self.json(404, {"detail": f"Stream with message_id {mid} not found"})
        return message

    # -- operations -------------------------------------------------------------------------------
    def create(self) -> None:
        # FastAPI's model: only `messages` is enforced (model and max_tokens default), extras allowed
        _, problems = read_body(self.body, "privategpt", "ChatBody", ("messages",))
        if problems and not self.defects.accept_invalid:
            self._invalid("; ".join(problems)[:300])
            return
        mid = self.query.get("message_id") or str(uuid.uuid4())
        with self.server.lock:
            if mid in self._messages():
                self._invalid(f"Stream with message_id {mid} already exists")
                return
            now = time.time()
            self._messages()[mid] = {"id": mid, "status": "pending", "created": now, "updated": now}
        self.json(200, {"message_id": mid, "status": "pending", "message": "Request initiated successfully"})

    def _invalid(self, explanation: str) -> None:
        self.json(
            400,
            {
                "type": "error",
                "error": {
                    "type": "invalid_request_error",
                    "message": "Invalid Request Error",
                    "detail": None,
                },
                "request_id": None,
                "detail": explanation,
            },
        )

    def status(self, mid: str) -> None:
        message = self._find(mid)
        if message is not None and self.defects.garbage_status:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            garbage = b"\xff\xfe{oops}"
            self.send_header("Content-Length", str(len(garbage)))
            self.end_headers()
            self.wfile.write(garbage)
        elif message is not None:
            self.json(200, self._view(message))

    def cancel(self, mid: str) -> None:
        message = self._find(mid)
        if message is None:
            return
        with self.server.lock:
            if self._view(message)["status"] in ("pending", "processing"):
                message["status"], message["updated"] = "cancelled", time.time()
        self.json(200, {"message": "Stream cancelled successfully", "message_id": mid})

    def delete(self, mid: str) -> None:
        message = self._find(mid)
        if message is None:
            return
        if self.defects.delete_500:
            self.json(500, {"type": "error", "error": {"type": "api_error", "message": "Api Error"}})
            return
        with self.server.lock:
            self._messages().pop(mid, None)
        self.json(200, None)

    def stream(self, mid: str) -> None:
        if self.defects.stream_status is not None:
            self.json(self.defects.stream_status, {"detail": "Stream unavailable"})
            return
        message = self._find(mid)
        if message is not None:
            self.sse(self._frames(message))

    def _frames(self, message: dict[str, Any]) -> Iterator[bytes]:
        def frame(event: str, data: dict[str, Any]) -> bytes:
            return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()

        yield frame("message_start", {"type": "message_start", "message": {"id": message["id"]}})
        sent = 0
        early = float(self.defects.extra.get("status_early", 0))
        end = message["created"] + self.defects.work_seconds if early else 0.0  # the reply streams until then
        while True:
            view = self._view(message) if message["id"] in self._messages() else {"status": "cancelled"}
            if view["status"] == "cancelled":
                return  # PrivateGPT closes silently on cancel
            if view["status"] == "completed" and time.time() >= end:
                if not self.defects.drop_stream:
                    yield frame("message_stop", {"type": "message_stop"})
                return
            if sent < 5 or (early and sent < 50):
                sent += 1
                yield frame(
                    "content_block_delta", {"type": "content_block_delta", "delta": {"text": "word "}}
                )
            time.sleep(0.05)

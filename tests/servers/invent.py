"""An independent implementation of Invent's chat messages (create, list, read, edit), written from
the vendor documents with the standard library: no code from the mock.

A created message is the assistant's answer: ``RUNNING``, then ``COMPLETED`` with its text and token
usage after ``Defects.work_seconds``. Every chat id exists; ``Defects.token`` is the API key.

Rule defects, switched in ``Defects.extra`` (each breaks one rule of ``x-lifecycle.rules``):

``list_omits``        the chat's list leaves out the messages created through the API (list-contains-reply)
``usage_off_by``      usage.total_tokens is this much more than input + output (sum)
``created_at_drifts`` reads report the last change as created_at, unlike the create answer (same-in-views)
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from tests.servers.base import Handler, Route, route
from tests.servers.schemas import read_body

_CHAT = r"(?P<chat_id>[^/]+)"
_MESSAGE = r"(?P<message_id>[^/]+)"
ANSWER = "On Saturdays we are open from 9:00 to 14:00."


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Invent(Handler):
    routes: ClassVar[list[Route]] = [
        route("POST", rf"/chats/{_CHAT}/messages", "create"),
        route("GET", rf"/chats/{_CHAT}/messages", "list_messages"),
        route("GET", rf"/chats/{_CHAT}/messages/{_MESSAGE}", "read"),
        route("PATCH", rf"/chats/{_CHAT}/messages/{_MESSAGE}", "edit"),
    ]

    def _chat(self, chat_id: str) -> list[dict[str, Any]]:
        chats: dict[str, list[dict[str, Any]]] = self.server.state.setdefault("chats", {})
        return chats.setdefault(chat_id, [])

    def _view(self, message: dict[str, Any]) -> dict[str, Any]:
        done_at = message["created"] + self.defects.work_seconds
        done = message["role"] == "user" or time.time() >= done_at
        changed = message.get(
            "edited", done_at if done and message["role"] == "assistant" else message["created"]
        )
        created = changed if self.defects.extra.get("created_at_drifts") else message["created"]
        view: dict[str, Any] = {
            "id": message["id"],
            "role": message["role"],
            "model": "gpt-4o-mini",
            "status": "COMPLETED" if done else "RUNNING",
            "created_at": _stamp(created),
            "updated_at": _stamp(changed),
            "messages": [],
        }
        if done and message["role"] == "assistant":
            view["messages"] = [{"role": "assistant", "parts": [{"type": "text", "text": ANSWER}]}]
            extra = int(self.defects.extra.get("usage_off_by", 0))
            view["usage"] = {"input_tokens": 12, "output_tokens": 9, "total_tokens": 21 + extra}
        return view

    def _invalid(self, message: str) -> None:
        self.json(400, {"statusCode": 400, "message": message, "error": "Bad Request"})

    def _find(self, chat_id: str, message_id: str) -> dict[str, Any] | None:
        found = next((m for m in self._chat(chat_id) if m["id"] == message_id), None)
        if found is None:
            self.json(
                404, {"statusCode": 404, "message": f"Message {message_id} not found", "error": "Not Found"}
            )
        return found

    def _authorized(self) -> bool:
        # Invent always wants a key; Defects.token says which one (base.py refuses others)
        if self.defects.token is None and not (self.headers.get("Authorization") or "").startswith("Bearer "):
            self.json(401, {"statusCode": 401, "message": "Unauthorized"})
            return False
        return True

    # -- operations -------------------------------------------------------------------------------
    def create(self, chat_id: str) -> None:
        if not self._authorized():
            return
        _, errors = read_body(self.body, "invent", "CreateChatMessageBody")
        if errors:
            self._invalid("; ".join(errors)[:300])
            return
        now = time.time()
        user = {"id": str(uuid.uuid4()), "role": "user", "created": now, "api": True}
        answer = {"id": str(uuid.uuid4()), "role": "assistant", "created": now, "api": True}
        with self.server.lock:
            self._chat(chat_id).extend([user, answer])
        self.json(200, self._view(answer))

    def list_messages(self, chat_id: str) -> None:
        if not self._authorized():
            return
        try:
            # an empty value is no integer (a client that sends `take=` is refused, not defaulted)
            page = int(self.query.get("page", "1"))
            take = int(self.query.get("take", "100"))
        except ValueError:
            self._invalid("page and take must be integers")
            return
        if page < 1 or not 1 <= take <= 100:
            self._invalid("page >= 1 and 1 <= take <= 100")
            return
        shown = [m for m in self._chat(chat_id) if not (m["api"] and self.defects.extra.get("list_omits"))]
        newest = list(reversed(shown))[(page - 1) * take : page * take]
        self.json(200, [self._view(m) for m in newest])

    def read(self, chat_id: str, message_id: str) -> None:
        if self._authorized() and (message := self._find(chat_id, message_id)) is not None:
            self.json(200, self._view(message))

    def edit(self, chat_id: str, message_id: str) -> None:
        if not self._authorized() or (message := self._find(chat_id, message_id)) is None:
            return
        try:
            body = self.body()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("message"), list) or not body["message"]:
            self._invalid("message must be a non-empty array of parts")
            return
        message["edited"] = time.time()
        self.json(200, self._view(message))

"""An independent implementation of Chatzy's conversation API (init, inference, SSE with a temp
token, stream status, fresh tokens, stored messages), written from the vendor documents with the
standard library: no code from the mock.

A reply is queued for 0.2 s, then processing while its words stream, and completed (both status
fields) after ``Defects.work_seconds``, when the stream sends ``close_connection`` and the reply is
stored. Tokens live ``extra["ttl"]`` seconds (60 by default) and open one stream each.

Rule defects, switched in ``Defects.extra`` (each breaks one rule of ``x-lifecycle.rules``):

``token_reusable``      a used token opens the stream again (stream-token, reuse)
``token_never_expires`` an expired token still opens the stream (stream-token, expiry)
``status_early``        the status shows completed this many seconds before the stream has sent
                        the reply (view-agrees-with-stream)
``reply_not_stored``    the reply never shows in the stored messages (list-contains-reply)
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from tests.servers.base import Handler, Route, route

REPLY = "The Pro plan costs $49 per month."
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _token(conversation_id: str) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    claims = {"conversation_id": conversation_id, "iat": int(time.time()), "nonce": secrets.token_hex(4)}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


class Chatzy(Handler):
    routes: ClassVar[list[Route]] = [
        route("GET", r"/init_conversation", "init"),
        route("POST", r"/get_inference", "inference"),
        route("GET", r"/get-response", "response"),
        route("GET", r"/get_stream_status", "status"),
        route("GET", r"/generate_secret", "secret"),
        route("GET", r"/get_messages_for_conversation", "messages"),
    ]

    # -- state ------------------------------------------------------------------------------------
    def _conversations(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.server.state.setdefault("conversations", {})
        return found

    def _tokens(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.server.state.setdefault("tokens", {})
        return found

    def _issue(self, conversation_id: str) -> str:
        token = _token(conversation_id)
        with self.server.lock:
            self._tokens()[token] = {"conversation": conversation_id, "issued": time.time(), "used": False}
        return token

    def _turn(self, conversation: dict[str, Any]) -> dict[str, Any]:
        """The latest turn as of now: its two status fields and whether its reply is stored."""
        turn = conversation.get("turn")
        if turn is None:
            return {"stream": "completed", "processing": "completed", "stored": False}
        elapsed = time.time() - turn["started"]
        work = self.defects.work_seconds
        shown_done = work - float(self.defects.extra.get("status_early", 0.0))
        if elapsed >= shown_done:
            return {
                "stream": "completed",
                "processing": "completed",
                "stored": elapsed >= work and not self.defects.extra.get("reply_not_stored"),
            }
        return {
            "stream": "is_streaming",
            "processing": "processing" if elapsed >= 0.2 else None,
            "stored": False,
        }

    def _stored(self, conversation: dict[str, Any]) -> list[dict[str, Any]]:
        """The stored messages, oldest first."""
        messages = list(conversation["messages"])
        turn = conversation.get("turn")
        if turn is not None and self._turn(conversation)["stored"]:
            messages.append(
                {
                    "message_id": turn["reply_id"],
                    "role": "assistant",
                    "content": REPLY,
                    "created_at": _stamp(turn["started"] + self.defects.work_seconds),
                }
            )
        return messages

    def _conversation(self, conversation_id: Any) -> dict[str, Any] | None:
        if not isinstance(conversation_id, str) or not _UUID.fullmatch(conversation_id):
            self._error(400, "bad_request", "conversation_id is required, a uuid")
            return None
        conversation = self._conversations().get(conversation_id)
        if conversation is None:
            self._error(404, "conversation_not_found", f"No conversation {conversation_id}")
        return conversation

    def _error(self, status: int, code: str, message: str) -> None:
        self.json(status, {"error": {"code": code, "message": message}})

    # -- operations -------------------------------------------------------------------------------
    def init(self) -> None:
        if not _UUID.fullmatch(self.query.get("chatbot_id") or ""):
            self._error(400, "bad_request", "chatbot_id is required, a uuid")
            return
        conversation_id = str(uuid.uuid4())
        intro = "Hi! How can I help you today?"
        now = time.time()
        with self.server.lock:
            self._conversations()[conversation_id] = {
                "messages": [
                    {
                        "message_id": str(uuid.uuid4()),
                        "role": "assistant",
                        "content": intro,
                        "created_at": _stamp(now),
                    }
                ]
            }
        self.json(
            200,
            {
                "data": {
                    "valid": True,
                    "conversation_id": conversation_id,
                    "introductory_message": {"switch": True, "buttons": [], "content": intro},
                }
            },
        )

    def inference(self) -> None:
        try:
            body = self.body()
        except ValueError:
            body = None
        message = body.get("messages") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or not _UUID.fullmatch(str(body.get("chatbot_id")))
            or not isinstance(message, dict)
            or not isinstance(message.get("content"), str)
        ):
            self._error(
                400, "bad_request", "chatbot_id, conversation_id and messages {role, content} are required"
            )
            return
        conversation = self._conversation(body.get("conversation_id"))
        if conversation is None:
            return
        if conversation.get("turn") is not None and self._turn(conversation)["stream"] != "completed":
            self._error(409, "turn_in_progress", "The previous message is still being answered.")
            return
        now = time.time()
        user = {
            "message_id": str(uuid.uuid4()),
            "role": "user",
            "content": message["content"],
            "created_at": _stamp(now),
        }
        with self.server.lock:
            conversation["messages"] = [*self._stored(conversation), user]
            conversation["turn"] = {"started": now, "reply_id": str(uuid.uuid4())}
        token = self._issue(body["conversation_id"])
        self.json(
            200,
            {
                "data": {
                    "msg": "User message sent for processing",
                    "temp_token": token,
                    "user_message": {"user_message_id": user["message_id"], "created_at": user["created_at"]},
                }
            },
        )

    def status(self) -> None:
        conversation = self._conversation(self.query.get("conversation_id"))
        if conversation is None:
            return
        turn = self._turn(conversation)
        latest = [m for m in self._stored(conversation) if m["role"] == "user"][-1:]
        if turn["stored"] and conversation.get("turn"):
            latest = self._stored(conversation)[-2:]
        self.json(
            200,
            {
                "data": {
                    "stream_status": turn["stream"],
                    "response_processing_status": turn["processing"],
                    "messages": latest,
                }
            },
        )

    def secret(self) -> None:
        conversation_id = self.query.get("conversation_id")
        if self._conversation(conversation_id) is not None:
            self.json(200, {"data": {"temp_token": self._issue(str(conversation_id))}})

    def messages(self) -> None:
        conversation = self._conversation(self.query.get("conversation_id"))
        if conversation is None:
            return
        try:
            limit = int(self.query.get("limit", "20"))
            offset = int(self.query.get("offset", "0"))
        except ValueError:
            self._error(400, "bad_request", "limit and offset are integers")
            return
        if not 1 <= limit <= 100 or offset < 0:
            self._error(400, "bad_request", "limit is 1..100 and offset >= 0")
            return
        newest = list(reversed(self._stored(conversation)))
        page = newest[offset : offset + limit]
        self.json(
            200,
            {
                "data": {
                    "messages": page,
                    "total": len(newest),
                    "limit": limit,
                    "offset": offset,
                    "has_more": offset + len(page) < len(newest),
                }
            },
        )

    def response(self) -> None:
        token = self.query.get("temp_token")
        if not token:
            self._error(400, "bad_request", "temp_token is required")
            return
        with self.server.lock:
            issued = self._tokens().get(token)
            ttl = float(self.defects.extra.get("ttl", 60.0))
            if issued is None or (
                time.time() - issued["issued"] > ttl and not self.defects.extra.get("token_never_expires")
            ):
                code = "invalid_token" if issued is None else "token_expired"
                self._error(
                    401, code, "The temporary token expired; request a new one from /generate_secret."
                )
                return
            if issued["used"] and not self.defects.extra.get("token_reusable"):
                self._error(409, "token_already_used", "The temporary token was already used.")
                return
            issued["used"] = True
        conversation = self._conversations()[issued["conversation"]]
        self.sse(self._frames(conversation))

    def _frames(self, conversation: dict[str, Any]) -> Iterator[bytes]:
        turn = conversation.get("turn")
        work = self.defects.work_seconds
        if turn is None or time.time() - turn["started"] >= work:
            yield b"data: no_message_found\n\n"
            return
        words = REPLY.split(" ")
        due = [turn["started"] + 0.2 + (work - 0.2) * (i + 1) / (len(words) + 1) for i in range(len(words))]
        for index, (word, at) in enumerate(zip(words, due, strict=True)):
            time.sleep(max(0.0, at - time.time()))
            chunk = word if index == 0 else " " + word
            yield f"data: {json.dumps({'content': chunk})}\n\n".encode()
        time.sleep(max(0.0, turn["started"] + work - time.time()))
        yield b"data: close_connection\n\n"

"""Chatzy conversations: conversations opened by ``init_conversation``, one reply ("turn") at a time
per conversation, short-lived single-use stream tokens, and ``{"error": {code, message}}`` errors
(the mock's choice, C-A4/C-A6, written in the spec)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from starlette.responses import Response, StreamingResponse

from lifecycle.openapi import Operation
from lifecycle.timeline import Timeline
from mockserver.conversation import stable_uuid
from mockserver.inputs import Problem
from mockserver.render import iso
from mockserver.responses import JSONResponse
from mockserver.store import Resource
from mockserver.streams import frame, reply_delivered
from mockserver.vendors.base import SCENARIO_HEADER, Answer, Call, Vendor

_CODES = {
    400: "invalid_request",
    401: "invalid_token",
    404: "conversation_not_found",
    409: "turn_in_progress",
}
_TOKEN_SECONDS = 60.0
_GREETING = "Hi! How can I help you today?"
_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


class Chatzy(Vendor):
    def error(
        self, status: int, message: str, headers: Mapping[str, str] | None = None, *, code: str | None = None
    ) -> Response:
        body = {"error": {"code": code or _CODES.get(status, "error"), "message": message}}
        return JSONResponse(body, status_code=status, headers=headers)

    def validation_error(self, problems: list[Problem]) -> Response:
        text = "; ".join(f"{'.'.join(str(part) for part in p.loc)}: {p.message}" for p in problems)
        return self.error(400, text)

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"No conversation {resource_id} with a message in it")

    async def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        """An open conversation (kept in the state store: its chatbot, messages and opening time)."""
        found: dict[str, Any] | None = await self.engine.state.vendor_get(
            self.engine.namespace, self.name, f"conversation:{conversation_id}"
        )
        return found

    async def keep(self, conversation_id: str, conversation: dict[str, Any]) -> None:
        key = f"conversation:{conversation_id}"
        lifetime = self.engine.settings.max_age_seconds  # as long as a resource may stay idle
        await self.engine.state.vendor_put(
            self.engine.namespace, self.name, key, conversation, now=self.engine.clock.now(), ttl=lifetime
        )

    async def issue_token(self, conversation_id: str) -> str:
        now = self.engine.clock.now()
        claims = json.dumps(
            {"conversation_id": conversation_id, "iat": int(now), "exp": int(now) + 60}
        ).encode()
        payload = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
        token = f"{_JWT_HEADER}.{payload}.{self.engine.new_token()}"
        grant = {"conversation_id": conversation_id, "issued_at": now, "used": False}
        # remembered one more lifetime after it expires, to answer "expired", not "unknown"
        await self.engine.state.vendor_put(
            self.engine.namespace, self.name, f"token:{token}", grant, now=now, ttl=2 * _TOKEN_SECONDS
        )
        return token

    async def handle_initConversation(self, call: Call) -> Answer:  # named after the operationId
        conversation_id = self.engine.new_uuid()
        opened_at = self.engine.clock.now()
        opened = {"chatbot_id": call.inputs.query["chatbot_id"], "messages": [], "opened_at": opened_at}
        await self.keep(conversation_id, opened)
        body = self.renderer.fake_body(call.operation, 200, conversation_id)
        body["data"].update(valid=True, conversation_id=conversation_id)
        if isinstance(body["data"].get("introductory_message"), dict):  # the chatbot's greeting
            body["data"]["introductory_message"].update(switch=True, buttons=[], content=_GREETING)
        return self.respond(call, body), None

    async def create(self, call: Call) -> Answer:
        request = call.inputs.body
        conversation_id = str(request["conversation_id"])
        conversation = await self.conversation(conversation_id)
        if conversation is None:
            return self.error(
                404, f"Conversation {conversation_id} not found; open one with /init_conversation"
            ), None
        current = await self.engine.find(self.name, conversation_id)
        if current is not None:
            self.engine.observe(current)
            if not self.engine.is_terminal(current):
                return self.error(
                    409, "The previous message of this conversation is still being answered"
                ), None
            self._keep_reply(conversation, current)
            await self.engine.forget(current)  # a new turn starts the conversation's lifecycle again
        try:
            scenario = await self.engine.choose_scenario(
                self.name, call.inputs.headers.get(SCENARIO_HEADER), request
            )
        except LookupError as error:
            return self.control_error("X-Mock-Scenario", str(error)), None
        resource = await self.engine.create(self.name, conversation_id, {}, request, scenario)
        now = self.engine.clock.now()
        user_message = {
            "message_id": self.engine.new_uuid(),
            "role": "user",
            "content": request["messages"]["content"],
            "created_at": iso(now),
        }
        conversation["messages"].append(user_message)
        await self.keep(conversation_id, conversation)
        body = self.renderer.fake_body(call.operation, 200, conversation_id + user_message["message_id"])
        body["data"].update(
            msg="User message sent for processing",
            temp_token=await self.issue_token(conversation_id),
            user_message={
                "user_message_id": user_message["message_id"],
                "created_at": user_message["created_at"],
            },
        )
        if isinstance(body["data"].get("introductory_message"), dict):  # greeted when it opened
            body["data"]["introductory_message"] = {
                "assistant_message_id": stable_uuid(conversation_id, "greeting"),
                "created_at": iso(conversation.get("opened_at", now)),
            }
        return self.respond(call, body), resource

    async def handle_generateSecret(self, call: Call) -> Answer:  # named after the operationId
        conversation_id = str(call.inputs.query["conversation_id"])
        if await self.conversation(conversation_id) is None:
            return self.error(404, f"Conversation {conversation_id} not found"), None
        return self.respond(call, {"data": {"temp_token": await self.issue_token(conversation_id)}}), None

    async def read(self, call: Call) -> Answer:
        """``getStreamStatus``: the turn's state with its messages so far (from its conversation)."""
        found = await self.locate_view(call)
        if isinstance(found, Response):
            return found, None
        body = self.view_body(call, found)
        conversation = await self.conversation(found.id) or {"messages": []}
        body["data"]["messages"] = self._turn_messages(conversation, found)
        response = self.respond(call, body)
        await self.engine.count_read(found)
        return response, found

    async def handle_getMessagesForConversation(self, call: Call) -> Answer:  # named after the operationId
        conversation_id = str(call.inputs.query["conversation_id"])
        conversation = await self.conversation(conversation_id)
        if conversation is None:
            return self.error(404, f"Conversation {conversation_id} not found"), None
        current = await self.engine.find(self.name, conversation_id)
        stored = conversation["messages"]
        if current is not None:
            self.engine.observe(current)
            if self._keep_reply(conversation, current):
                await self.keep(conversation_id, conversation)
            live = None if current.extra.get("reply_kept") else self._reply_message(current)
            stored = stored + ([live] if live is not None else [])
        newest_first = list(reversed(stored))
        limit, offset = int(call.inputs.query.get("limit", 20)), int(call.inputs.query.get("offset", 0))
        page = newest_first[offset : offset + limit]
        data = {
            "messages": page,
            "total": len(newest_first),
            "limit": limit,
            "offset": offset,
            "has_more": offset + len(page) < len(newest_first),
        }
        return self.respond(call, {"data": data}), None

    def _keep_reply(self, conversation: dict[str, Any], turn: Resource) -> bool:
        """Store the assistant's reply of a finished turn once: the text its stream delivered
        (True: ``conversation`` changed, the caller keeps it)."""
        if not self.engine.is_terminal(turn) or turn.extra.get("reply_kept"):
            return False
        turn.extra["reply_kept"] = True
        reply = self._reply_message(turn)
        if reply is not None:
            conversation["messages"].append(reply)
        return reply is not None

    def _reply_message(self, turn: Resource) -> dict[str, Any] | None:
        """The assistant's message of a turn as it stands: the reply so far (None before any)."""
        text = reply_delivered(self.engine, turn)
        if not text:
            return None
        history = turn.timeline.history
        began = history[1].at if len(history) > 1 else turn.timeline.current.at
        return {
            "message_id": stable_uuid(turn.id, repr(turn.created_at), "assistant"),
            "role": "assistant",
            "content": text,
            "created_at": iso(began),
        }

    def _turn_messages(self, conversation: dict[str, Any], turn: Resource) -> list[dict[str, Any]]:
        """The turn's user message and the assistant's reply so far (kept once the turn ends)."""
        self._keep_reply(conversation, turn)
        since = iso(turn.created_at)
        messages = [message for message in conversation["messages"] if message["created_at"] >= since]
        if not turn.extra.get("reply_kept") and (live := self._reply_message(turn)) is not None:
            messages.append(live)
        return messages

    def prepare(self, resource: Resource, operation: Operation, body: Any) -> Any:
        return body

    async def stream(self, call: Call) -> Answer:
        """``/get-response``: opened by a short-lived, single-use token instead of an id (C-A6)."""
        token = str(call.inputs.query["temp_token"])
        grant = await self.engine.state.take_token(self.engine.namespace, self.name, f"token:{token}")
        if grant is None:
            return self.error(
                401, "Unknown temporary token; get one from /get_inference or /generate_secret"
            ), None
        if self.engine.clock.now() - grant["issued_at"] > _TOKEN_SECONDS:
            return self.error(
                401,
                "The temporary token expired; request a new one from /generate_secret",
                code="token_expired",
            ), None
        if grant["used"]:
            return self.error(
                409, "The temporary token was already used; request a new one", code="token_already_used"
            ), None
        turn = await self.engine.find(self.name, grant["conversation_id"])
        if turn is None or self.engine.is_done(turn):
            # a late reader of a finished turn gets only what follows: nothing (C-A7)
            return StreamingResponse(_once(frame("no_message_found")), media_type="text/event-stream"), None
        return self.event_stream(turn, _Frames(), live=True, fault=call.fault), turn


class _Frames:
    """Chatzy's data-only frames: ``{"content": ...}`` chunks, then a bare control string."""

    def opening(self, resource: Resource) -> list[str]:
        return []

    def token(self, resource: Resource, text: str, index: int) -> str:
        chunk = frame(json.dumps({"content": text}))
        if index > 0 and index == resource.timeline.scenario.stream_plan.call_again_after:
            return frame("call_again") + chunk  # a tool call happened: more chunks follow on this stream
        return chunk

    def closing(self, resource: Resource, timeline: Timeline) -> list[str]:
        return [frame(timeline.scenario.stream_plan.end or "close_connection")]

    def keepalive(self, resource: Resource) -> str | None:
        return None  # Chatzy documents no keep-alive frames


async def _once(text: str) -> AsyncIterator[str]:
    yield text

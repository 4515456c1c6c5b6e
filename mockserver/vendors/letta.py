"""Letta async runs: ``run-<uuid4>`` ids, ``{"detail": ...}`` errors, the 422 body real servers send
(L-A2), 400 ``INVALID_ARGUMENT`` for malformed run ids (L-A11), agent-scoped cancel returning a map
(L-A8), run-list filters with ``after``/``before`` cursors, and run metadata."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from lifecycle.model import Lifecycle
from lifecycle.openapi import Operation
from lifecycle.streaming import working_phase
from lifecycle.timeline import Timeline
from mockserver.conversation import SYSTEM_PROMPT_TOKENS, count_tokens, stable_uuid, text_of
from mockserver.engine import Engine
from mockserver.inputs import Problem
from mockserver.render import iso
from mockserver.responses import JSONResponse
from mockserver.store import Resource
from mockserver.streams import frame, reply_delivered, reply_tokens
from mockserver.vendors.base import Answer, Call, Vendor

_STREAM_LIFETIME_SECONDS = 3 * 3600  # older runs answer 410, as the real server does

_AGENT_EXAMPLE = "agent-123e4567-e89b-42d3-8456-426614174000"
_RUN_OPERATIONS = {"createAgentMessageAsync", "retrieveRun", "listRuns"}


class Letta(Vendor):
    def validation_error(self, problems: list[Problem]) -> Response:
        for problem in problems:
            if problem.loc[:2] == ("path", "run_id"):
                return self.error(
                    400,
                    f"INVALID_ARGUMENT: Invalid run ID format: {problem.input}. "
                    "Expected format: 'run-<uuid4>'",
                )
        errors = [
            {"type": problem.kind, "loc": problem.loc, "msg": problem.message, "input": problem.input}
            for problem in problems
        ]
        body: dict[str, Any] = {"trace_id": "", "detail": repr(errors)}
        if any(problem.loc[:2] == ("path", "agent_id") for problem in problems):
            body["examples"] = [_AGENT_EXAMPLE]
        return JSONResponse(body, status_code=422)

    def not_found(self, resource_id: str) -> Response:
        return self.error(404, f"Run not found with id={resource_id}")

    def on_create(self, call: Call, resource: Resource) -> None:
        request = call.inputs.body if isinstance(call.inputs.body, dict) else {}
        resource.extra["metadata"] = {"run_type": "send_message_async", "lettuce": None}
        resource.extra["request_config"] = {
            "use_assistant_message": request.get("use_assistant_message", True),
            "assistant_message_tool_name": request.get("assistant_message_tool_name", "send_message"),
            "assistant_message_tool_kwarg": request.get("assistant_message_tool_kwarg", "message"),
            "include_return_message_types": request.get("include_return_message_types"),
        }

    def prepare(self, resource: Resource, operation: Operation, body: Any) -> Any:
        body = super().prepare(resource, operation, body)
        if operation.operation_id == "retrieveUsageForRun" and isinstance(body, dict) and "run_ids" in body:
            body["run_ids"] = [resource.id]  # a run's usage is accounted to that run
        if operation.operation_id in _RUN_OPERATIONS and isinstance(body, dict):
            request = resource.request if isinstance(resource.request, dict) else {}
            body.update(
                agent_id=resource.scope.get("agent_id", body.get("agent_id")),
                background=True,
                metadata=dict(resource.extra.get("metadata", {})),
                request_config=resource.extra.get("request_config"),
                callback_url=request.get("callback_url"),
                ttft_ns=None,
                total_duration_ns=None,
                # a message sent straight to an agent belongs to no conversation and no template
                conversation_id=None,
                base_template_id=None,
            )
        return body

    def page(self, call: Call, resources: list[Resource]) -> tuple[list[Resource], dict[str, str]]:
        query = call.inputs.query
        runs = list(resources)
        for run in runs:
            self.engine.observe(run)
        if query.get("statuses"):
            runs = [
                r for r in runs if self.lifecycle.states[r.timeline.state].show["status"] in query["statuses"]
            ]
        if query.get("active"):
            runs = [r for r in runs if not self.engine.is_terminal(r)]
        if query.get("stop_reason"):
            runs = [r for r in runs if r.timeline.values.get("stop_reason") == query["stop_reason"]]
        if query.get("agent_ids"):
            runs = [r for r in runs if r.scope.get("agent_id") in query["agent_ids"]]
        if "background" in query and query["background"] is False:
            runs = []  # every run the mock makes is a background run
        if query.get("conversation_id"):
            runs = []  # runs sent straight to an agent belong to no conversation
        ascending = query.get("order", "desc") == "asc" or query.get("ascending") is True
        runs.sort(key=lambda r: r.created_at, reverse=not ascending)
        return cursor_page(runs, [r.id for r in runs], query), {}

    # -- one conversation per run: messages, steps and usage agree with the stream -----------------
    def conversation(self, run: Resource) -> dict[str, Any]:
        """The run's conversation now: the user's text, the reply so far, and what they cost."""
        timeline = self.engine.observe(run)
        request = run.request if isinstance(run.request, dict) else {}
        user = text_of(request.get("input")) or text_of(
            [m.get("content") for m in request.get("messages") or [] if isinstance(m, dict)]
        )
        reply = reply_delivered(self.engine, run)
        prompt = count_tokens(user) + SYSTEM_PROMPT_TOKENS
        completion = count_tokens(reply)
        return {
            "state": timeline.state,
            "user": user,
            "reply": reply,
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total": prompt + completion},
            "step_id": "step-" + stable_uuid(run.id, "step"),
            "at": reply_began(timeline, self.lifecycle),
        }

    def run_messages(self, run: Resource) -> list[dict[str, Any]]:
        """What the real server stores for the run: the user message, then the assistant's reply so far
        (nothing for a failed run, as observed on real servers)."""
        talk = self.conversation(run)
        if talk["state"] == "failed":
            return []
        base = {"name": None, "sender_id": None, "is_err": None, "seq_id": None, "run_id": run.id}
        messages = [
            {
                "message_type": "user_message",
                "id": message_id(run, "user_message"),
                "date": iso(run.created_at).replace("Z", "+00:00"),
                "otid": stable_uuid(run.id, "user-otid"),
                "step_id": None,
                "content": talk["user"],
                **base,
            }
        ]
        if not talk["user"]:
            messages = []  # approvals or tool returns only: the request had no user text to store
        if talk["reply"]:
            messages.append(
                {
                    "message_type": "assistant_message",
                    "id": message_id(run, "assistant_message"),
                    "date": iso(talk["at"]).replace("Z", "+00:00"),
                    "otid": assistant_otid(run),
                    "step_id": talk["step_id"],
                    "content": talk["reply"],
                    **base,
                }
            )
        return messages

    def run_steps(self, run: Resource) -> list[dict[str, Any]]:
        """The run's one LLM step: pending while the run works, then as the run ended."""
        talk = self.conversation(run)
        state = talk["state"]
        status = {"completed": "success", "failed": "failed", "cancelled": "cancelled"}.get(state, "pending")
        usage = talk["usage"]
        failed = state == "failed"
        return [
            {
                "id": talk["step_id"],
                "run_id": run.id,
                "agent_id": run.scope.get("agent_id"),
                "status": status,
                "origin": None,
                "provider_id": None,
                "provider_name": "openai",
                "provider_category": "base",
                "model": "gpt-4o-mini",
                "model_endpoint": "https://api.openai.com/v1",
                "context_window_limit": 32000,
                "completion_tokens": usage["completion_tokens"],
                "prompt_tokens": usage["prompt_tokens"],
                "total_tokens": usage["total"],
                "completion_tokens_details": None,
                "stop_reason": run.timeline.values.get("stop_reason") if status != "pending" else None,
                "tags": [],
                "trace_id": None,
                "feedback": None,
                "project_id": None,
                "error_type": "internal_error" if failed else None,
                "error_data": {"message": str(run.timeline.values.get("metadata.error"))} if failed else None,
                "messages": [],
            }
        ]

    def usage_of(self, run: Resource) -> dict[str, Any]:
        usage = self.conversation(run)["usage"]
        return {
            "completion_tokens": usage["completion_tokens"],
            "prompt_tokens": usage["prompt_tokens"],
            "total_tokens": usage["total"],
            "step_count": 1,
        }

    async def handle_listMessagesForRun(self, call: Call) -> Answer:  # named after the operationId
        return await self._run_list(call, self.run_messages, default_order="asc")

    async def handle_listStepsForRun(self, call: Call) -> Answer:  # named after the operationId
        return await self._run_list(call, self.run_steps, default_order="desc")

    async def handle_retrieveUsageForRun(self, call: Call) -> Answer:  # named after the operationId
        found = await self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found, None
        response = self.respond(
            call,
            {
                **self.usage_of(found),
                "run_ids": [found.id],
                "prompt_tokens_details": None,
                "completion_tokens_details": None,
            },
        )
        return response, found

    async def _run_list(self, call: Call, items_of: Any, *, default_order: str) -> Answer:
        found = await self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found, None
        items: list[dict[str, Any]] = items_of(found)  # oldest first
        if call.inputs.query.get("order", default_order) == "desc":
            items.reverse()
        return self.respond(
            call, cursor_page(items, [item["id"] for item in items], call.inputs.query)
        ), found

    async def handle_cancelAgentRun(self, call: Call) -> Answer:  # named after the operationId
        agent_id = str(call.inputs.path["agent_id"])
        body = call.inputs.body if isinstance(call.inputs.body, dict) else {}
        requested = body.get("run_ids")
        runs = [r for r in await self.engine.resources(self.name) if r.scope.get("agent_id") == agent_id]
        if requested is None:
            runs = [r for r in runs if not self.engine.is_done(r)]
            if not runs:
                return self.error(409, f"No active runs to cancel for agent {agent_id}"), None
            requested = [r.id for r in runs]
        known = {r.id: r for r in runs}
        outcome: dict[str, str] = {}
        touched: Resource | None = None  # the journal names the last run cancelled
        for run_id in requested:
            run = known.get(run_id)
            if run is None:
                outcome[run_id] = "failed"
                continue
            touched = run
            await self.engine.cancel(run)  # a finished run is left as it is but still reported "cancelled"
            outcome[run_id] = "cancelled"
        return self.respond(call, outcome), touched

    async def stream(self, call: Call) -> Answer:
        found = await self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found, None
        if self.engine.clock.now() - found.created_at > _STREAM_LIFETIME_SECONDS:
            return self.error(
                410, f"Stream for run {found.id} has expired (runs can be streamed for 3 hours)"
            ), found
        options = call.inputs.body if isinstance(call.inputs.body, dict) else {}
        count = len(reply_tokens(self.engine.settings.seed, found))
        encoder = _Frames(self, count, pings=bool(options.get("include_pings", True)))
        return self.event_stream(
            found, encoder, skip=int(options.get("starting_after") or 0), fault=call.fault
        ), found

    async def delete(self, call: Call) -> Answer:
        found = await self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found, None
        body = self.renderer.resource_body(
            found, self.api.spec.operations["retrieveRun"], self.engine.observe(found), self.prepare
        )
        await self.engine.delete(found)
        return self.respond(call, body), found  # the deleted run, as the spec's example shows


class _Frames:
    """Letta's data-only frames of Letta messages numbered by ``seq_id``, ending with ``[DONE]``."""

    def __init__(self, vendor: Letta, count: int, pings: bool) -> None:
        self.vendor = vendor
        self.engine: Engine = vendor.engine
        self.count = count  # tokens in the reply: they take seq_id 1..count
        self.pings = pings

    def _message(self, resource: Resource, kind: str, seq_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "message_type": kind,
            "id": message_id(resource, kind),
            # the stored message's date: every chunk of one message carries it, as the list shows it
            "date": iso(reply_began(resource.timeline, self.vendor.lifecycle)).replace("Z", "+00:00"),
            "run_id": resource.id,
            "seq_id": seq_id,
            **fields,
        }

    def opening(self, resource: Resource) -> list[str]:
        return []

    def token(self, resource: Resource, text: str, index: int) -> str:
        return _data(
            self._message(
                resource, "assistant_message", index + 1, content=text, otid=assistant_otid(resource)
            )
        )

    def closing(self, resource: Resource, timeline: Timeline) -> list[str]:
        frames, seq = [], self.count + 1
        stop_reason = timeline.values.get("stop_reason") or (
            "cancelled" if timeline.state == "cancelled" else "end_turn"
        )
        if timeline.state == "failed":
            error = {
                "message_type": "error_message",
                "run_id": resource.id,
                "error_type": "internal_error",
                "seq_id": seq,
            }
            error["message"] = str(timeline.values.get("metadata.error") or "The run failed")
            frames.append(frame(json.dumps(error), event="error"))
            seq += 1
        frames.append(
            _data(
                {
                    "message_type": "stop_reason",
                    "stop_reason": stop_reason,
                    "seq_id": seq,
                    "run_id": resource.id,
                }
            )
        )
        usage = {"message_type": "usage_statistics", **self.vendor.usage_of(resource)}
        frames.append(_data({**usage, "seq_id": seq + 1, "run_id": resource.id}))
        frames.append(frame("[DONE]"))
        return frames

    def keepalive(self, resource: Resource) -> str | None:
        if not self.pings:
            return None
        ping = {
            "message_type": "ping",
            "id": f"ping-{self.engine.new_uuid()}",
            "date": iso(self.engine.clock.now()),
            "run_id": resource.id,
        }
        return _data(ping)


def reply_began(timeline: Timeline, lifecycle: Lifecycle) -> float:
    """When the assistant's reply began: the start of the working phase, else (a run that went
    straight from created to its end) the moment it ended. Stable once there is any reply."""
    phase = working_phase(timeline, lifecycle)
    return phase.start if phase is not None else timeline.current.at


def assistant_otid(run: Resource) -> str:
    return stable_uuid(run.id, "assistant-otid")


def message_id(run: Resource, kind: str) -> str:
    """The id of the run's message of ``kind``: the same in the stream and in the run's message list."""
    return "message-" + stable_uuid(run.id, kind)


def cursor_page(items: list[Any], ids: list[str], query: dict[str, Any]) -> list[Any]:
    """The page of ``items`` (already in the requested order) that ``after``/``before``/``limit`` ask for.

    ``after`` gives the items following that id, ``before`` the ``limit`` items just preceding it
    (an SDK pages backwards from the first item it got), an unknown cursor gives an empty page so
    auto-pagination ends."""
    after, before = query.get("after"), query.get("before")
    limit = int(query.get("limit") or 100)
    start, end = 0, len(items)
    if after:
        start = ids.index(after) + 1 if after in ids else len(items)
    if before:
        end = ids.index(before) if before in ids else 0
    window = items[start:end] if start < end else []
    if before and not after:
        return window[max(0, len(window) - limit) :]
    return window[:limit]


def _data(payload: dict[str, Any]) -> str:
    return frame(json.dumps(payload, separators=(",", ":")))

"""Letta async runs: ``run-<uuid4>`` ids, ``{"detail": ...}`` errors, the 422 body real servers send
(L-A2), 400 ``INVALID_ARGUMENT`` for malformed run ids (L-A11), agent-scoped cancel returning a map
(L-A8), run-list filters with ``after``/``before`` cursors, and run metadata."""

from __future__ import annotations

import json
import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from lifecycle.openapi import Operation
from lifecycle.timeline import Timeline
from mockserver.engine import Engine
from mockserver.inputs import Problem
from mockserver.render import iso
from mockserver.store import Resource
from mockserver.streams import frame, reply_tokens
from mockserver.vendors.base import Call, Vendor

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
        if "background" in query and query["background"] is False:
            runs = []  # every run the mock makes is a background run
        ascending = query.get("order", "desc") == "asc"
        runs.sort(key=lambda r: r.created_at, reverse=not ascending)
        ids = [r.id for r in runs]
        if query.get("after") in ids:
            runs = runs[ids.index(query["after"]) + 1 :]
        elif query.get("after"):
            runs = []  # an unknown cursor ends the listing; the SDK pages on `after` until it sees []
        ids = [r.id for r in runs]
        if query.get("before") in ids:
            runs = runs[: ids.index(query["before"])]
        return runs[: int(query.get("limit", 100))], {}

    async def handle_cancelAgentRun(self, call: Call) -> Response:  # named after the operationId
        agent_id = str(call.inputs.path["agent_id"])
        body = call.inputs.body if isinstance(call.inputs.body, dict) else {}
        requested = body.get("run_ids")
        runs = [r for r in self.engine.store.of(self.name) if r.scope.get("agent_id") == agent_id]
        if requested is None:
            runs = [r for r in runs if not self.engine.is_done(r)]
            if not runs:
                return self.error(409, f"No active runs to cancel for agent {agent_id}")
            requested = [r.id for r in runs]
        known = {r.id: r for r in runs}
        outcome: dict[str, str] = {}
        for run_id in requested:
            run = known.get(run_id)
            if run is None:
                outcome[run_id] = "failed"
                continue
            call.resource = run
            self.engine.cancel(run)  # a finished run is left as it is but still reported "cancelled"
            outcome[run_id] = "cancelled"
        return self.respond(call, outcome)

    async def stream(self, call: Call) -> Response:
        found = self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found
        if self.engine.clock.now() - found.created_at > _STREAM_LIFETIME_SECONDS:
            return self.error(
                410, f"Stream for run {found.id} has expired (runs can be streamed for 3 hours)"
            )
        options = call.inputs.body if isinstance(call.inputs.body, dict) else {}
        count = len(reply_tokens(self.engine.settings.seed, found))
        encoder = _Frames(self.engine, count, pings=bool(options.get("include_pings", True)))
        return self.event_stream(
            found, encoder, skip=int(options.get("starting_after") or 0), fault=call.fault
        )

    async def delete(self, call: Call) -> Response:
        found = self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found
        body = self.renderer.resource_body(
            found, self.api.spec.operations["retrieveRun"], self.engine.observe(found), self.prepare
        )
        self.engine.delete(found)
        return self.respond(call, body)  # the deleted run, as the spec's example shows


class _Frames:
    """Letta's data-only frames of Letta messages numbered by ``seq_id``, ending with ``[DONE]``."""

    def __init__(self, engine: Engine, count: int, pings: bool) -> None:
        self.engine = engine
        self.count = count  # tokens in the reply: they take seq_id 1..count
        self.pings = pings

    def _message(self, resource: Resource, kind: str, seq_id: int, **fields: Any) -> dict[str, Any]:
        return {
            "message_type": kind,
            "id": f"message-{uuid.uuid5(uuid.NAMESPACE_URL, resource.id + kind)}",
            "date": iso(self.engine.clock.now()),
            "run_id": resource.id,
            "seq_id": seq_id,
            **fields,
        }

    def opening(self, resource: Resource) -> list[str]:
        return []

    def token(self, resource: Resource, text: str, index: int) -> str:
        return _data(
            self._message(
                resource, "assistant_message", index + 1, content=text, otid=f"{resource.id}-assistant"
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
        usage = {
            "message_type": "usage_statistics",
            "completion_tokens": self.count,
            "prompt_tokens": 24,
            "total_tokens": self.count + 24,
            "step_count": 1,
        }
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


def _data(payload: dict[str, Any]) -> str:
    return frame(json.dumps(payload, separators=(",", ":")))

"""Letta async runs: ``run-<uuid4>`` ids, ``{"detail": ...}`` errors, the 422 body real servers send
(L-A2), 400 ``INVALID_ARGUMENT`` for malformed run ids (L-A11), agent-scoped cancel returning a map
(L-A8), run-list filters with ``after``/``before`` cursors, and run metadata."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from lifecycle.openapi import Operation
from mockserver.inputs import Problem
from mockserver.store import Resource
from mockserver.vendors.base import Call, Vendor

_AGENT_EXAMPLE = "agent-123e4567-e89b-42d3-8456-426614174000"
_RUN_OPERATIONS = {"createAgentMessageAsync", "retrieveRun", "listRuns"}


class Letta(Vendor):
    def validation_error(self, call: Call | None, problems: list[Problem]) -> Response:
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

    async def delete(self, call: Call) -> Response:
        found = self.locate(call, "$request.path.run_id", {})
        if isinstance(found, Response):
            return found
        body = self.renderer.resource_body(
            found, self.api.spec.operations["retrieveRun"], self.engine.observe(found), self.prepare
        )
        self.engine.delete(found)
        return self.respond(call, body)  # the deleted run, as the spec's example shows

"""An independent implementation of Letta's async runs (create, retrieve, list, cancel, delete,
stream, messages, steps, usage), written from the vendor documents with the standard library: no
code from the mock.

A run is ``created``, then ``completed`` (stop_reason end_turn) after ``Defects.work_seconds``, as
on Letta's plain async path. Every agent id of the documented shape exists, unless
``Defects.extra["agents"]`` lists the ones that do.

Rule defects, switched in ``Defects.extra`` (each breaks one rule of ``x-lifecycle.rules``):
``usage_off_by`` (total_tokens off by that much: sum), ``no_reply`` (a completed run lists no
assistant message: list-contains-reply), ``no_steps`` (a completed run lists no step: list-contains-reply),
``created_at_drifts`` (reads show the completion time as
created_at: same-in-views), ``status_early`` (the run shows completed this many seconds before its
stream has sent the reply: view-agrees-with-stream).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from tests.servers.base import Handler, Route, route
from tests.servers.schemas import read_body

_AGENT = r"(?P<agent_id>[^/]+)"
_RUN = r"(?P<run_id>[^/]+)"
_RUN_ID = re.compile(r"run-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_AGENT_ID = re.compile(r"agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def _stable(kind: str, run_id: str, n: int) -> str:
    """The id of a run's n-th message or step: the same on every read, as a server's stored ids."""
    return f"{kind}-{uuid.uuid5(uuid.NAMESPACE_URL, f'{run_id}/{kind}/{n}')}"


def _stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


class Letta(Handler):
    routes: ClassVar[list[Route]] = [
        route("POST", rf"/v1/agents/{_AGENT}/messages/async", "create"),
        route("POST", rf"/v1/agents/{_AGENT}/messages/cancel", "cancel"),
        route("GET", r"/v1/runs/", "list_runs"),
        route("GET", rf"/v1/runs/{_RUN}", "retrieve"),
        route("DELETE", rf"/v1/runs/{_RUN}", "delete"),
        route("POST", rf"/v1/runs/{_RUN}/stream", "stream"),
        route("GET", rf"/v1/runs/{_RUN}/messages", "messages"),
        route("GET", rf"/v1/runs/{_RUN}/steps", "steps"),
        route("GET", rf"/v1/runs/{_RUN}/usage", "usage"),
    ]

    def _runs(self) -> dict[str, dict[str, Any]]:
        runs: dict[str, dict[str, Any]] = self.server.state.setdefault("runs", {})
        return runs

    def _view(self, run: dict[str, Any]) -> dict[str, Any]:
        now = time.time()
        status, stop, ended = run["status"], run.get("stop_reason"), run.get("ended")
        done_at = (
            run["created"] + self.defects.work_seconds - float(self.defects.extra.get("status_early", 0.0))
        )
        if status == "created" and now >= done_at:
            status, stop, ended = "completed", "end_turn", done_at
        flips = self.defects.cancel_flips_after
        if status == "cancelled" and flips is not None and now >= run["ended"] + flips:
            status, stop = "completed", "end_turn"  # completed_at keeps the cancel time, as on 0.16.8
        late = self.defects.late_flip_after
        metadata: dict[str, Any] = {}
        if status == "completed" and late is not None and now >= run["created"] + late:
            status, stop, metadata = "failed", "error", {"error": "the work failed after all"}
        return {
            "id": run["id"],
            "agent_id": run["agent_id"],
            "status": status,
            "created_at": _stamp(
                ended if ended is not None and self.defects.extra.get("created_at_drifts") else run["created"]
            ),
            "completed_at": _stamp(ended) if ended is not None else None,
            "stop_reason": stop,
            "background": True,
            "metadata": metadata,
            "callback_url": None,
            "callback_sent_at": None,
            "callback_status_code": None,
            "callback_error": None,
        }

    def _agent_ok(self, agent_id: str) -> bool:
        if not _AGENT_ID.fullmatch(agent_id):
            self._invalid(["path", "agent_id"], "String should match pattern 'agent-<uuid4>'")
            return False
        known = self.defects.extra.get("agents")
        if known is not None and agent_id not in known:
            self.json(404, {"detail": "Agent not found"})
            return False
        return True

    def _run(self, run_id: str) -> dict[str, Any] | None:
        if not _RUN_ID.fullmatch(run_id):
            self.json(400, {"detail": f"INVALID_ARGUMENT: Invalid run ID format: {run_id}"})
            return None
        run = self._runs().get(run_id)
        if run is None:
            self.json(404, {"detail": f"Run {run_id} not found"})
        return run

    def _invalid(self, loc: list[str], message: str) -> None:
        self.json(422, {"detail": [{"loc": loc, "msg": message, "type": "value_error"}]})

    def _limit_ok(self) -> bool:
        raw = self.query.get("limit")
        if raw is None:
            return True
        try:
            limit = int(raw)
        except ValueError:
            self._invalid(["query", "limit"], "Input should be a valid integer")
            return False
        if limit < 0 and self.defects.limit_500:
            self.json(500, {"detail": "An unknown error occurred"})
            return False
        return True

    # -- operations -------------------------------------------------------------------------------
    def create(self, agent_id: str) -> None:
        if not self._agent_ok(agent_id):
            return
        body, errors = read_body(self.body, "letta", "LettaAsyncRequest")
        if errors and not self.defects.accept_invalid:
            self._invalid(["body"], "; ".join(errors)[:300])
            return
        run_id = f"run-{uuid.uuid4()}"
        run: dict[str, Any] = {
            "id": run_id,
            "agent_id": agent_id,
            "status": "created",
            "created": time.time(),
        }
        with self.server.lock:
            self._runs()[run_id] = run
        callback = body.get("callback_url") if isinstance(body, dict) else None
        if isinstance(callback, str) and callback.startswith("http://127.0.0.1:"):
            timer = threading.Timer(self.defects.work_seconds + 0.05, self._call_back, (run, callback))
            timer.daemon = True
            timer.start()
        self.json(200, self._view(run))

    def _call_back(self, run: dict[str, Any], url: str) -> None:
        """One POST once the run is terminal (unless it was cancelled first), as Letta does."""
        view = self._view(run)
        if view["status"] == "created":
            return
        payload = {"run_id": run["id"], "status": view["status"], "completed_at": view["completed_at"]}
        request = urllib.request.Request(
            url, json.dumps(payload).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=5).close()

    def retrieve(self, run_id: str) -> None:
        run = self._run(run_id)
        if run is not None:
            self.json(200, self._view(run))

    def list_runs(self) -> None:
        if not self._limit_ok():
            return
        agent = self.query.get("agent_id")
        runs = [self._view(r) for r in self._runs().values() if agent in (None, r["agent_id"])]
        self.json(200, self._page(runs))

    def _page(self, items: list[dict[str, Any]], default_order: str = "desc") -> list[dict[str, Any]]:
        """``items`` (oldest first) in the asked ``order``, after ``after``, before ``before``, at
        most ``limit``: the documented cursor semantics, or the defect."""
        newest_first = self.query.get("order", default_order) == "desc"
        ordered = list(reversed(items)) if newest_first else list(items)
        ids = [item["id"] for item in ordered]
        after, before = self.query.get("after"), self.query.get("before")
        limit = max(0, int(self.query.get("limit") or 100))
        if after and newest_first and self.defects.after_ignores_order:
            oldest = [item["id"] for item in items]
            newer = oldest[oldest.index(after) + 1 :] if after in oldest else []
            return [item for item in ordered if item["id"] in newer][:limit]
        start = ids.index(after) + 1 if after in ids else (len(ids) if after else 0)
        end = ids.index(before) if before in ids else (0 if before else len(ids))
        window = ordered[start:end]
        return window[-limit:] if before and not after and limit else window[:limit]

    def delete(self, run_id: str) -> None:
        run = self._run(run_id)
        if run is None:
            return
        if self.defects.delete_500:
            self.json(500, {"detail": "An unknown error occurred"})
            return
        with self.server.lock:
            self._runs().pop(run_id, None)
        self.json(200, self._view(run))

    def cancel(self, agent_id: str) -> None:
        if not self._agent_ok(agent_id):
            return
        try:
            body = self.body() or {}
        except ValueError:
            body = {}
        ids: Any = body.get("run_ids") if isinstance(body, dict) else None
        if self.raw_body.strip() == b"null" and self.defects.extra.get("null_cancels_all"):
            # Letta 0.16.8 (FastAPI) reads a JSON null body as no body: every active run of the agent
            with self.server.lock:
                runs = self._runs().values()
                ids = [
                    r["id"]
                    for r in runs
                    if r["agent_id"] == agent_id and self._view(r)["status"] == "created"
                ]
        if not ids or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            self.json(409, {"detail": f"No active runs found for agent {agent_id}"})
            return
        answer = {}
        with self.server.lock:
            for run_id in ids:
                run = self._runs().get(run_id)
                if run is not None and self._view(run)["status"] == "created":
                    run.update(status="cancelled", stop_reason="cancelled", ended=time.time())
                answer[run_id] = "cancelled"
        self.json(200, answer)

    def messages(self, run_id: str) -> None:
        if not self._limit_ok() or (run := self._run(run_id)) is None:
            return
        view = self._view(run)
        if view["status"] != "completed" or self.defects.extra.get("no_reply"):
            self.json(200, [])
            return
        base = {"date": view["completed_at"], "run_id": run_id}
        messages = [
            {**base, "id": _stable("message", run_id, 1), "message_type": "user_message", "content": "Hello"},
            {
                **base,
                "id": _stable("message", run_id, 2),
                "message_type": "assistant_message",
                "content": "Hi.",
            },
        ]
        self.json(200, self._page(messages, default_order="asc"))

    def steps(self, run_id: str) -> None:
        if not self._limit_ok() or (run := self._run(run_id)) is None:
            return
        done = self._view(run)["status"] == "completed" and not self.defects.extra.get("no_steps")
        steps = [{"id": _stable("step", run_id, 1), "run_id": run_id}] if done else []
        self.json(200, self._page(steps, default_order="desc"))

    def usage(self, run_id: str) -> None:
        if self._run(run_id) is not None:
            total = 27 + int(self.defects.extra.get("usage_off_by", 0))
            self.json(
                200, {"completion_tokens": 7, "prompt_tokens": 20, "total_tokens": total, "step_count": 1}
            )

    def stream(self, run_id: str) -> None:
        run = self._run(run_id)
        if run is None:
            return
        if self.defects.stream_status is not None:
            self.json(
                self.defects.stream_status, {"detail": "Background streaming requires Redis to be running."}
            )
            return
        self.sse(self._frames(run))

    def _frames(self, run: dict[str, Any]) -> Iterator[bytes]:
        def data(payload: Any) -> bytes:
            return f"data: {payload if isinstance(payload, str) else json.dumps(payload)}\n\n".encode()

        sent = 0
        early = float(self.defects.extra.get("status_early", 0.0))
        end = run["created"] + self.defects.work_seconds if early else 0.0  # the reply streams until then
        while True:
            view = self._view(run)
            if view["status"] == "cancelled" or (view["status"] != "created" and time.time() >= end):
                if self.defects.drop_stream:
                    return
                yield data({"message_type": "stop_reason", "stop_reason": view["stop_reason"]})
                yield data({"message_type": "usage_statistics", "completion_tokens": 0, "total_tokens": 0})
                yield data("[DONE]")
                return
            if sent < 5 or (early and sent < 50):
                sent += 1
                yield data({"message_type": "assistant_message", "seq_id": sent, "content": "word "})
            time.sleep(0.05)


class LettaWithMessageRoutes(Letta):
    """Letta with the agent's other message routes, as a real server has them: its
    ``PATCH /v1/agents/{agent_id}/messages/{message_id}`` matches ``…/messages/async`` too and
    answers 422 there (``async`` is no message id) instead of 405."""

    routes: ClassVar[list[Route]] = [
        *Letta.routes,
        route("PATCH", rf"/v1/agents/{_AGENT}/messages/(?P<message_id>[^/]+)", "modify_message"),
    ]

    def modify_message(self, agent_id: str, message_id: str) -> None:
        if not re.fullmatch(r"message-[0-9a-f-]{36}", message_id):
            self._invalid(["path", "message_id"], "String should match pattern 'message-<uuid4>'")
            return
        self.json(404, {"detail": f"Message {message_id} not found"})

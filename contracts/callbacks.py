"""The callback probe: a receiver on 127.0.0.1 is the callback URL; exactly one POST arrives after
the resource is terminal, with a body consistent with what the status shows."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contracts.ending import EndingProbes
from contracts.observe import Observation, parse_time, read_view
from contracts.requests import Created


class CallbackProbes(EndingProbes):
    def callback_probe(self) -> None:
        callback = self.lifecycle.callback
        if callback is None:
            return
        for check in ("callback.delivered", "callback.body"):
            self.report.expect(check)
        receiver = _Receiver.start()
        try:
            started = time.monotonic()
            with self.checking("callback.delivered"):
                made = self.create(callback_url=receiver.url)
                seen = self.watch(made, started)
            terminal = next((o for o in seen if self.is_terminal(o)), None)
            if terminal is None:
                last = seen[-1].label() if seen else "nothing"
                why = (
                    f"the resource did not reach a terminal state within --deadline "
                    f"{self.options.deadline:g}s (last: {last}), so no callback was due"
                )
                self.report.not_observed("callback.delivered", reason=why)
                self.report.not_observed("callback.body", reason=why)
                return
            time.sleep(min(callback.timeout_seconds, 2.0))
            received = receiver.bodies()
            if len(received) != 1:
                self.violation(
                    "callback.delivered",
                    f"expected exactly one callback POST after the terminal state; {len(received)} arrived",
                    made,
                    seen,
                )
                if not received:
                    self.report.not_observed("callback.body", reason="no callback arrived")
                    return
            else:
                self.report.passed("callback.delivered")
            self._judge_callback(made, received[0], terminal, seen)
        finally:
            receiver.stop()

    def _judge_callback(
        self, made: Created, body: Any, terminal: Observation, seen: list[Observation]
    ) -> None:
        view = read_view(self.lifecycle)
        status_field = (
            next(iter(self.lifecycle.states[terminal.state or ""].show), None) if terminal.state else None
        )
        problems = []
        if not isinstance(body, dict):
            problems.append(f"the body is not a JSON object: {body!r}")
        else:
            if body.get("run_id", body.get("id")) != made.id:
                problems.append(f"run_id is {body.get('run_id')!r}, expected {made.id!r}")
            if status_field is not None and body.get(status_field) != terminal.values.get(status_field):
                problems.append(
                    f"{status_field} is {body.get(status_field)!r}, "
                    f"the status endpoint shows {terminal.values.get(status_field)!r}"
                )
            completed = self.lifecycle.timestamps.get("completed")
            if completed and completed in view.fields:
                sent, _ = parse_time(body.get("completed_at"))
                shown, _ = parse_time(terminal.values.get(completed))
                if sent is None or shown is None or sent.replace(tzinfo=None) != shown.replace(tzinfo=None):
                    problems.append(
                        f"completed_at is {body.get('completed_at')!r}, "
                        f"the status endpoint shows {terminal.values.get(completed)!r}"
                    )
        for problem in problems:
            self.violation("callback.body", problem, made, seen)
        if not problems:
            self.report.passed("callback.body")


class _Receiver:
    """A callback receiver on 127.0.0.1 that records what it is sent."""

    def __init__(self, server: ThreadingHTTPServer, received: list[Any]) -> None:
        self.server = server
        self.received = received
        self.url = f"http://127.0.0.1:{server.server_address[1]}/comeback-callback"

    @classmethod
    def start(cls) -> _Receiver:
        received: list[Any] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    received.append(json.loads(raw))
                except ValueError:
                    received.append(raw.decode("utf-8", "replace"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return cls(server, received)

    def bodies(self) -> list[Any]:
        return list(self.received)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Probes that watch the target over a connection or from the outside: its stream, its callback.

stream    read the stream incrementally (an event budget and a deadline, never waiting for the
          end to judge) while polling the status: every frame parses, the stream ends when the
          status is terminal, with the vendor's terminal signal; a cancel ends an open stream
callback  a receiver on 127.0.0.1 is the callback URL: exactly one POST after the resource is
          terminal, with a body consistent with what the status shows
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from contracts.observe import Observation, observe, parse_time, read_view
from contracts.probes import Probes
from contracts.requests import Created
from lifecycle.expressions import parse_expression
from lifecycle.model import Stream

EVENT_BUDGET = 2000


@dataclass
class _Frame:
    event: str | None
    data: str
    at: float


@dataclass
class _StreamRead:
    frames: list[_Frame] = field(default_factory=list)
    ended_at: float | None = None
    error: str | None = None
    status: int | None = None
    kit_stopped: bool = False  # the kit stopped reading (budget or deadline), not the server


class LiveProbes(Probes):
    # -- stream ----------------------------------------------------------------------------------
    def stream_probe(self) -> None:
        stream = self.lifecycle.stream
        if stream is None:
            return
        for check in ("stream.opens", "stream.frames", "stream.ends_with_status", "stream.terminal_signal"):
            self.report.ran(check)
        started = time.monotonic()
        made = self.requests.create(self.target)
        reading = self._open(stream, made, started)
        if reading is None:
            return
        seen = self._poll_while(reading, made, started)
        self._judge(stream, made, reading, seen, started)
        if self.lifecycle.cancel is not None:
            self._cancel_closes(stream, time.monotonic())

    def _open(
        self, stream: Stream, made: Created, started: float
    ) -> tuple[threading.Thread, _StreamRead] | None:
        method, path, query, body = self.requests.prepare(stream.operation, made, id_expression=stream.id)
        if stream.token is not None:
            issuer = next(
                (i for i in stream.token.issued_by if i.operation == self.lifecycle.create.operation), None
            )
            token = parse_expression(issuer.token).evaluate(response_body=made.response) if issuer else None
            query[parse_expression(stream.token.parameter).name] = token
        result = _StreamRead()
        thread = threading.Thread(
            target=self._read, args=((method, path, query, body), result, started), daemon=True
        )
        thread.start()
        return thread, result

    def _read(self, call: tuple[str, str, dict[str, Any], Any], result: _StreamRead, started: float) -> None:
        method, path, query, body = call
        event: str | None = None
        data: list[str] = []
        try:
            kwargs: dict[str, Any] = {
                "params": query,
                "timeout": httpx.Timeout(5.0, read=self.options.deadline),
            }
            if body is not None:
                kwargs["json"] = body
            with self.target.client.stream(method, path, **kwargs) as response:
                result.status = response.status_code
                if response.status_code != 200:
                    return
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip(" "))
                    elif line == "" and data:
                        result.frames.append(_Frame(event, "\n".join(data), time.monotonic() - started))
                        event, data = None, []
                        if (
                            len(result.frames) >= EVENT_BUDGET
                            or time.monotonic() - started > self.options.deadline
                        ):
                            result.kit_stopped = True
                            return
        except httpx.ReadTimeout:
            result.kit_stopped = True
        except httpx.HTTPError as error:
            result.error = f"{type(error).__name__}: {error}"
        finally:
            result.ended_at = time.monotonic() - started

    def _poll_while(
        self, reading: tuple[threading.Thread, _StreamRead], made: Created, started: float
    ) -> list[Observation]:
        thread = reading[0]
        seen: list[Observation] = []
        while thread.is_alive() and time.monotonic() - started < self.options.deadline:
            seen.append(observe(self.requests, self.target, made, started, time.monotonic()))
            thread.join(0.25)
        seen.append(observe(self.requests, self.target, made, started, time.monotonic()))
        thread.join(2.0)
        return seen

    def _judge(
        self,
        stream: Stream,
        made: Created,
        reading: tuple[threading.Thread, _StreamRead],
        seen: list[Observation],
        started: float,
    ) -> None:
        thread, result = reading
        if result.status != 200:
            self.violation("stream.opens", f"the stream answered {result.status}", made, seen)
            return
        for frame in result.frames:
            problem = _frame_problem(stream, frame)
            if problem:
                self.violation("stream.frames", problem, made, seen)
                break
        terminal_at = next((o.at for o in seen if self.is_terminal(o)), None)
        if result.kit_stopped and terminal_at is None:
            return  # the resource never finished: the lifecycle probe reports that, not this one
        if thread.is_alive() or result.ended_at is None or result.kit_stopped:
            if terminal_at is not None:
                self.violation(
                    "stream.ends_with_status",
                    f"the status was terminal at {terminal_at:.2f}s but the stream was still open",
                    made,
                    seen,
                )
            return
        final = observe(self.requests, self.target, made, started, time.monotonic())
        if not self.is_terminal(final):
            self.violation(
                "stream.ends_with_status",
                f"the stream ended at {result.ended_at:.2f}s while the status is {final.state!r}",
                made,
                [*seen, final],
            )
            return
        silent_close = stream.on_cancel == "close" and final.state == (
            self.lifecycle.cancel.to if self.lifecycle.cancel else None
        )
        if not silent_close and not _is_terminal_signal(stream, result.frames[-1] if result.frames else None):
            last = result.frames[-1].data[:80] if result.frames else "no frame at all"
            self.violation(
                "stream.terminal_signal",
                f"the stream ended without a terminal signal (last: {last!r})",
                made,
                seen,
            )

    def _cancel_closes(self, stream: Stream, started: float) -> None:
        cancel = self.lifecycle.cancel
        assert cancel is not None
        self.report.ran("stream.cancel_closes")
        made = self.requests.create(self.target)
        reading = self._open(stream, made, started)
        assert reading is not None
        thread, result = reading
        time.sleep(0.3)
        self.requests.call(self.target, cancel.operation, made, id_expression=cancel.id)
        grace = 2 * self.options.settle + 1.0
        thread.join(grace)
        if thread.is_alive():
            self.violation(
                "stream.cancel_closes", f"the stream was still open {grace:g} s after the cancel", made
            )
        elif stream.on_cancel == "terminal-signal" and not _is_terminal_signal(
            stream, result.frames[-1] if result.frames else None
        ):
            self.violation(
                "stream.cancel_closes", "after the cancel the stream ended without its terminal signal", made
            )

    # -- callback --------------------------------------------------------------------------------
    def callback_probe(self) -> None:
        callback = self.lifecycle.callback
        if callback is None:
            return
        for check in ("callback.delivered", "callback.body"):
            self.report.ran(check)
        receiver = _Receiver.start()
        try:
            started = time.monotonic()
            made = self.requests.create(self.target, callback_url=receiver.url)
            seen = self.watch(made, started)
            terminal = next((o for o in seen if self.is_terminal(o)), None)
            if terminal is None:
                self.violation(
                    "callback.delivered",
                    "the resource never became terminal, so no callback could be checked",
                    made,
                    seen,
                )
                return
            time.sleep(min(callback.timeout_seconds, 2.0))
            received = receiver.bodies()
            if len(received) != 1:
                self.violation(
                    "callback.delivered",
                    f"{len(received)} callback POSTs arrived, expected exactly one",
                    made,
                    seen,
                )
                if not received:
                    return
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


def _frame_problem(stream: Stream, frame: _Frame) -> str | None:
    if stream.framing == "event-and-data" and frame.event is None:
        return f"a frame without an event name: {frame.data[:80]!r}"
    if _is_literal(stream, frame.data):
        return None
    try:
        json.loads(frame.data)
    except ValueError:
        return f"a frame whose data does not parse as JSON: {frame.data[:80]!r}"
    return None


def _is_literal(stream: Stream, data: str) -> bool:
    signals = [*stream.terminal_signals, *stream.error_signals, "call_again"]
    return data in signals or any(s.endswith(":") and data.startswith(s) for s in signals)


def _is_terminal_signal(stream: Stream, frame: _Frame | None) -> bool:
    if frame is None:
        return False
    signals = [*stream.terminal_signals, *stream.error_signals]
    if stream.framing == "event-and-data":
        return frame.event in signals
    return frame.data in signals or any(s.endswith(":") and frame.data.startswith(s) for s in signals)


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

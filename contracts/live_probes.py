"""The stream probe, and ``LiveProbes``: every probe of a run (lifecycle, paging, cancel, delete,
callback, stream), one class per concept stacked in that order.

stream    read the stream incrementally (an event budget and a deadline, never waiting for the
          end to judge) while polling the status: every frame parses, the stream ends when the
          status is terminal, with the vendor's terminal signal; a cancel ends an open stream
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from contracts.callbacks import CallbackProbes
from contracts.observe import Observation
from contracts.probes import _short
from contracts.requests import Created
from contracts.target import Exchange, describe, parse_body
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
    body: Any = None  # the answer when the stream did not open


class LiveProbes(CallbackProbes):
    # -- stream ----------------------------------------------------------------------------------
    def stream_probe(self) -> None:
        stream = self.lifecycle.stream
        if stream is None:
            return
        checks = ("stream.opens", "stream.frames", "stream.ends_with_status", "stream.terminal_signal")
        for check in checks:
            self.report.expect(check)
        if self.lifecycle.cancel is not None:
            self.report.expect("stream.cancel_closes")
        started = time.monotonic()
        with self.checking("stream.opens"):
            made = self.create()
            reading = self._open(stream, made, started)
            seen = self._poll_while(reading, made, started)
        with self.checking("stream.ends_with_status"):
            self._judge(stream, made, reading, seen, started)
        if self.lifecycle.cancel is not None:
            with self.checking("stream.cancel_closes"):
                self._cancel_closes(stream, time.monotonic())

    def _open(self, stream: Stream, made: Created, started: float) -> tuple[threading.Thread, _StreamRead]:
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
        url = path
        own = self.target.fresh_client()
        try:
            kwargs: dict[str, Any] = {
                "params": query,
                "timeout": httpx.Timeout(5.0, read=self.options.deadline),
            }
            if body is not None:
                kwargs["json"] = body
            # a connection of its own: the polls beside it never meet what the stream left behind,
            # and after a 5xx the next request on it is the kit's (contracts.drops)
            with own.stream(method, path, **kwargs) as response:
                url = str(response.request.url)
                result.status = response.status_code
                if response.status_code != 200:
                    response.read()
                    result.body = parse_body(response)
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
            result.error = describe(error)
        finally:
            result.ended_at = time.monotonic() - started
            shown = f"{len(result.frames)} frame(s)" + (f", then {result.error}" if result.error else "")
            answered = Exchange(
                method,
                url,
                dict(self.target.headers),
                body,
                result.status,
                result.body if result.status != 200 else shown,
                time.monotonic(),
                result.error if result.status is None else None,
            )
            self.target.log.append(answered)
            if result.status is not None and result.status >= 500:
                self.target.follow_up(answered, own)
            own.close()

    def _poll_while(
        self, reading: tuple[threading.Thread, _StreamRead], made: Created, started: float
    ) -> list[Observation]:
        thread = reading[0]
        seen: list[Observation] = []
        while thread.is_alive() and time.monotonic() - started < self.options.deadline:
            seen.append(self.observe(made, started))
            thread.join(0.25)
        seen.append(self.observe(made, started))
        thread.join(2.0)
        return seen

    def _unavailable(self, stream: Stream, result: _StreamRead) -> str | None:
        """Why the stream did not open, when it did not (None when it did)."""
        if result.status == 200:
            return None
        if result.status is None:
            return f"the stream request failed: {result.error}"
        documented = result.status in stream.unavailable_status
        return f"the stream answered {result.status}" + (
            ", documented as unavailable (x-lifecycle.stream.unavailable_status)" if documented else ""
        )

    def _judge(
        self,
        stream: Stream,
        made: Created,
        reading: tuple[threading.Thread, _StreamRead],
        seen: list[Observation],
        started: float,
    ) -> None:
        thread, result = reading
        later = ("stream.frames", "stream.ends_with_status", "stream.terminal_signal")
        reason = self._unavailable(stream, result)
        if reason is not None:
            if result.status in stream.unavailable_status:
                self.report.not_observed("stream.opens", reason=reason)
            else:
                expected = sorted({200, *stream.unavailable_status})
                self.violation(
                    "stream.opens",
                    f"opening the stream: expected one of {expected}, got "
                    f"{result.status if result.status is not None else result.error}: {_short(result.body)}",
                    made,
                    seen,
                )
            for check in later:
                self.report.not_observed(check, reason=f"the stream did not open ({reason})")
            return
        self.report.passed("stream.opens")
        problem = next((p for f in result.frames if (p := _frame_problem(stream, f))), None)
        if problem:
            self.violation("stream.frames", problem, made, seen)
        elif result.frames:
            self.report.passed("stream.frames")
        else:
            self.report.not_observed("stream.frames", reason="no frame arrived")
        terminal_at = next((o.at for o in seen if self.is_terminal(o)), None)
        if result.kit_stopped and terminal_at is None:
            last = seen[-1].label() if seen else "nothing"
            why = (
                f"the resource did not reach a terminal state within --deadline {self.options.deadline:g}s "
                f"(last: {last}); lifecycle.reaches_terminal judges that"
            )
            self.report.not_observed("stream.ends_with_status", reason=why)
            self.report.not_observed("stream.terminal_signal", reason=why)
            return
        if thread.is_alive() or result.ended_at is None or result.kit_stopped:
            if terminal_at is not None:
                self.violation(
                    "stream.ends_with_status",
                    f"expected the stream to end when the status turned terminal at {terminal_at:.2f}s; "
                    f"it was still open at {time.monotonic() - started:.2f}s",
                    made,
                    seen,
                )
            self.report.not_observed("stream.terminal_signal", reason="the stream did not end")
            return
        final = self.observe(made, started)
        cancelled = final.state == (self.lifecycle.cancel.to if self.lifecycle.cancel else None)
        silent_close = stream.on_cancel == "close" and cancelled
        last_frame = result.frames[-1] if result.frames else None
        if not silent_close and not _is_terminal_signal(stream, last_frame):
            last = last_frame.data[:80] if last_frame else "no frame at all"
            ended = f"it ended at {result.ended_at:.2f}s" + (f" ({result.error})" if result.error else "")
            self.violation(
                "stream.terminal_signal",
                f"expected the stream to end with {list(stream.terminal_signals)}; "
                f"{ended}, last frame {last!r}",
                made,
                [*seen, final],
            )
        else:
            self.report.passed("stream.terminal_signal")
        if not self.is_terminal(final):
            self.violation(
                "stream.ends_with_status",
                f"expected the stream to end only once the status is terminal; it ended at "
                f"{result.ended_at:.2f}s while the status is {final.state!r}",
                made,
                [*seen, final],
            )
        else:
            self.report.passed("stream.ends_with_status")

    def _cancel_closes(self, stream: Stream, started: float) -> None:
        cancel = self.lifecycle.cancel
        assert cancel is not None
        made = self.create()
        thread, result = self._open(stream, made, started)
        time.sleep(0.3)
        before = self.observe(made, started)
        self.requests.call(self.target, cancel.operation, made, id_expression=cancel.id)
        grace = 2 * self.options.settle + 1.0
        thread.join(grace)
        reason = self._unavailable(stream, result)
        if reason is not None and result.status is not None:
            self.report.not_observed("stream.cancel_closes", reason=f"the stream did not open ({reason})")
        elif self.is_terminal(before):
            self.report.not_observed(
                "stream.cancel_closes", reason=f"the resource was already {before.state!r} before the cancel"
            )
        elif thread.is_alive():
            self.violation(
                "stream.cancel_closes",
                f"expected the stream to end after the cancel; it was still open {grace:g}s later",
                made,
            )
        elif stream.on_cancel == "terminal-signal" and not _is_terminal_signal(
            stream, result.frames[-1] if result.frames else None
        ):
            self.violation(
                "stream.cancel_closes",
                f"expected the stream to end with {list(stream.terminal_signals)} after the cancel; "
                "it ended without it",
                made,
            )
        else:
            self.report.passed("stream.cancel_closes")


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

"""One created resource as the recorder saw it: states with their times and fields, stream, errors.

A ``Recording`` is fed observations as they happen (times are arguments: the proxy reads the
clock, this module never does). Each observation is checked against the lifecycle at once, and
what breaks the contract (a transition the lifecycle does not allow, a value outside the spec, a
required field missing, a status that is no state) is returned as a message for the log and kept
as an ``off_contract`` note on the step it belongs to.

    >>> recording = Recording("letta", "run-1", lifecycle, created=(0.0, 0.01))
    >>> recording.observe(0.5, 0.51, {"status": "completed", "stop_reason": "end_turn"})
    []
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.formats import TimestampFormat, detect
from lifecycle.model import Lifecycle
from recorder.frames import Meaning

MAX_ANSWERS = 200  # answers kept per resource (a client polling for hours must not grow it forever)
ERROR_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))


@dataclass(slots=True)
class Segment:
    """A run of observations that all showed ``state``; ``first_received`` bounds when it began.

    An answer is taken to show the server as it was when the answer arrived (``received``): a
    busy server queues a request before handling it, and answers right after.
    """

    state: str
    first_sent: float
    first_received: float
    last_sent: float
    last_received: float
    values: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class StreamCapture:
    """One stream read through the proxy: its frames' meanings with arrival times, and how it ended."""

    opened: float
    events: list[tuple[float, Meaning]] = field(default_factory=list)
    frames: int = 0
    closed: float | None = None
    closed_by: str = ""  # "server" (the target ended it) or "client" (the reader went away)

    @property
    def words(self) -> int:
        return sum(len(meaning.value.split()) for _, meaning in self.events if meaning.kind == "text")

    @property
    def signal(self) -> tuple[float, str] | None:
        return next(((t, m.value) for t, m in self.events if m.kind == "signal"), None)


@dataclass(slots=True)
class Answered:
    """An answer about the resource as the server sent it (``dropped``: the server then cut the
    connection, so the next request on it got no answer)."""

    at: float
    operation: str
    status: int
    body: Any
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class Acted:
    """A client's ``action`` (cancel, delete) on the resource while it showed ``state``."""

    action: str
    sent: float
    state: str
    answer: Answered


@dataclass(frozen=True, slots=True)
class Call:
    """A call about the resource and its answer's status (errors become faults of the step)."""

    at: float
    operation: str
    status: int
    retry_after: float | None = None


class Recording:
    """Everything observed about one created resource."""

    def __init__(
        self,
        api: str,
        resource_id: str,
        lifecycle: Lifecycle,
        *,
        created: tuple[float, float],
        scope: Mapping[str, Any] | None = None,
    ) -> None:
        self.api = api
        self.id = resource_id
        self.lifecycle = lifecycle
        self.created_at = created[1]
        self.scope = dict(scope or {})
        self.segments = [Segment(lifecycle.initial, created[0], created[1], created[0], created[1])]
        self.streams: list[StreamCapture] = []
        self.calls: list[Call] = []
        self.deviations: set[str] = set()
        self.answers: list[Answered] = []
        self.actions: list[Acted] = []
        self.formats: dict[str, TimestampFormat] = {}  # timestamp field -> how the server wrote it
        self.deleted = False
        self._reported: set[tuple[int, str, str]] = set()

    @property
    def state(self) -> str:
        return self.segments[-1].state

    @property
    def terminal(self) -> bool:
        return self.lifecycle.states[self.state].terminal

    def observe(self, sent: float, received: float, values: Mapping[str, Any]) -> list[str]:
        """A view of the resource, asked at ``sent`` and answered at ``received``; returns what broke
        the contract (already kept as notes)."""
        state = self.lifecycle.state_showing(values)
        current = self.segments[-1]
        if state is None:
            shown = {name: values.get(name) for name in self._shown_fields()}
            return self._note(
                len(self.segments) - 1, "state", "", f"{_show(shown)} is no state of the lifecycle"
            )
        messages: list[str] = []
        if state.name == current.state:
            current.last_sent = max(current.last_sent, sent)
            current.last_received = max(current.last_received, received)
        elif sent < current.first_received:
            return []  # asked before the newer state was seen: a stale answer, not a step back
        else:
            previous = current.state
            self.segments.append(Segment(state.name, sent, received, sent, received))
            messages.extend(self._check_transition(previous, state.name))
        segment = self.segments[-1]
        for name, value in values.items():
            if segment.values.get(name) is None:
                segment.values[name] = value
        messages.extend(self._check_values(len(self.segments) - 1, values))
        return messages

    def open_stream(self, at: float) -> StreamCapture:
        capture = StreamCapture(at)
        self.streams.append(capture)
        return capture

    def call(self, at: float, operation: str, status: int, retry_after: float | None = None) -> None:
        self.calls.append(Call(at, operation, status, retry_after))

    def answer(self, at: float, operation: str, status: int, body: Any) -> Answered:
        """Keep an answer about the resource (its body as sent); returned so a drop can mark it."""
        answered = Answered(at, operation, status, body)
        if len(self.answers) < MAX_ANSWERS:
            self.answers.append(answered)
        return answered

    def act(self, action: str, sent: float, answered: Answered) -> None:
        """A client's cancel or delete, answered with ``answered``, in the state last seen."""
        self.actions.append(Acted(action, sent, self.state, answered))

    def timestamp(self, name: str, value: Any) -> None:
        """How the server writes the timestamp field ``name`` (the first value seen decides)."""
        if name not in self.formats and (found := detect(value)) is not None:
            self.formats[name] = found

    # -- checks --------------------------------------------------------------------------------------
    def _check_transition(self, previous: str, state: str) -> list[str]:
        lifecycle, index = self.lifecycle, len(self.segments) - 1
        if lifecycle.states[previous].terminal:
            reason = f"the terminal state {previous!r} changed to {state!r}"
        elif not lifecycle.allows(previous, state):
            allowed = sorted(lifecycle.transitions.get(previous, ()))
            reason = f"transition {previous} -> {state} is not allowed (expected one of {allowed})"
        else:
            return []
        known = [
            d.name
            for d in lifecycle.deviations
            if d.kind == "extra-transitions" and state in d.effect["transitions"].get(previous, ())
        ]
        if known:
            self.deviations.update(known)
            reason += f"; the spec knows it as deviation {known[0]!r}"
        return self._note(index, "transition", "", reason)

    def _check_values(self, index: int, values: Mapping[str, Any]) -> list[str]:
        state = self.lifecycle.states[self.segments[index].state]
        messages: list[str] = []
        for name, value in values.items():
            if value is None and name in state.present:
                messages += self._note(index, "missing", name, f"state {state.name!r} requires {name!r}")
            elif value is not None and name in state.absent:
                messages += self._note(
                    index,
                    "value",
                    name,
                    f"{name!r} must be absent in state {state.name!r}; found {_show(value)}",
                )
            elif value is not None and name in state.allowed and value not in state.allowed[name]:
                known = [
                    d.name
                    for d in self.lifecycle.deviations
                    if d.kind == "extra-values"
                    and d.effect["state"] == state.name
                    and d.effect["field"] == name
                    and value in d.effect["values"]
                ]
                if known:  # the spec knows this one: the scenario names the deviation instead
                    if known[0] not in self.deviations:
                        self.deviations.add(known[0])
                        messages.append(
                            f"{self.api} {self.id}: {name}={_show(value)} in state {state.name!r} "
                            f"(known deviation {known[0]!r})"
                        )
                    continue
                messages += self._note(
                    index,
                    "value",
                    name,
                    f"{name}={_show(value)} is not allowed in state {state.name!r} "
                    f"(expected one of {sorted(map(str, state.allowed[name]))})",
                )
        return messages

    def _note(self, index: int, kind: str, name: str, message: str) -> list[str]:
        key = (index, kind, name or message)
        if key in self._reported:
            return []
        self._reported.add(key)
        note = {"kind": kind, "message": message}
        if name:
            note["field"] = name
        self.segments[index].notes.append(note)
        return [f"{self.api} {self.id}: off contract: {message}"]

    def _shown_fields(self) -> list[str]:
        return sorted({name for state in self.lifecycle.states.values() for name in state.show})


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, dict) else ", ".join(f"{k}={v!r}" for k, v in value.items())

"""A recording becomes scenario data: steps with ``after:`` from the observed times, the fields each
state set, the stream's text, pacing and ending, faults seen, and explicit ``off_contract`` notes.

Pure: no clock, no files. ``compose`` returns the data and an identity ``key`` (everything except
the timings), so the writer can tell identical timelines apart from ones that only took longer.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from statistics import median
from typing import Any

from lifecycle.timing import distribution
from recorder.recording import ERROR_STATUSES, Recording, Segment, StreamCapture
from recorder.secrets import Secrets

_WORD = re.compile(r"\S+\s*")  # how the mock splits a reply into tokens
_STALL = 0.25  # a gap counts as a stall when this long at least, and five times the usual gap


@dataclass(frozen=True, slots=True)
class Composed:
    """Scenario data for one recording; ``key`` identifies the timeline regardless of its timings."""

    data: dict[str, Any]
    key: str
    durations: tuple[float, ...]
    notes: tuple[str, ...]

    @property
    def last_state(self) -> str:
        return str(self.data["steps"][-1]["state"])


def compose(
    recording: Recording, secrets: Secrets, *, source: str, answered: frozenset[str] = frozenset()
) -> Composed:
    """The scenario data of ``recording``; ``source`` says where it was recorded (for the description).
    Error answers of the ``answered`` operations are replayed as recorded answers, not as faults."""
    segments = recording.segments
    stream = main_stream(recording.streams)
    begins = begins_of(recording, stream)
    steps: list[dict[str, Any]] = []
    for index, segment in enumerate(segments):
        step: dict[str, Any] = {"state": segment.state}
        if index:
            step["after"] = format_duration(max(0.0, begins[index] - begins[index - 1]))
        values = settable(recording, segment)
        if values:
            step["set"] = secrets.clean(values)
        if segment.notes:
            step["off_contract"] = [secrets.clean(note) for note in segment.notes]
        steps.append(step)
    _add_call_faults(recording, steps, begins, answered)
    if stream is not None:
        _add_stream(recording, stream, steps, begins, secrets)
        timing = stream_timing(recording, stream, begins)
    durations = tuple(begins[i] - begins[i - 1] for i in range(1, len(begins)))
    data: dict[str, Any] = {"api": recording.api, "description": _description(steps, source)}
    if recording.deviations:
        data["deviations"] = sorted(recording.deviations)
    data["steps"] = steps
    if stream is not None and timing:
        data["timing"] = {"stream": timing}
    key = json.dumps(
        {
            "api": recording.api,
            "deviations": data.get("deviations", []),
            "steps": [_untimed(step) for step in steps],
        },
        sort_keys=True,
    )
    notes = tuple(note["message"] for step in steps for note in step.get("off_contract", ()))
    return Composed(data, key, durations, notes)


def _untimed(step: dict[str, Any]) -> dict[str, Any]:
    """A step without its timings (``after``, the stream's pace): what identifies a timeline."""
    untimed = {key: value for key, value in step.items() if key != "after"}
    if "stream" in step:
        untimed["stream"] = {
            key: value for key, value in step["stream"].items() if key != "tokens_per_second"
        }
    return untimed


def format_duration(seconds: float) -> str:
    """``1.25s``, ``40s``, ``0.005s``: milliseconds are the finest a recording can tell apart."""
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return f"{text or '0'}s"


def begins_of(recording: Recording, stream: StreamCapture | None) -> list[float]:
    """When each step began: between the last answer that still showed the previous state and the
    first that showed this one (the midpoint), or exactly when the stream's terminal signal came.
    Error answers in between belong to the previous step if it failed calls before, else to this
    one (a status endpoint that starts failing as the state changes)."""
    segments = recording.segments
    begins = [recording.created_at]
    signal = stream.signal if stream is not None else None
    closed = stream.closed if stream is not None and stream.closed_by == "server" else None
    failing = sorted(call.at for call in recording.calls if call.status in ERROR_STATUSES)
    for index in range(1, len(segments)):
        previous, segment = segments[index - 1], segments[index]
        high = segment.first_received
        low = min(previous.last_received, high)
        hidden = [moment for moment in failing if low < moment < high]  # error answers hid the change
        if hidden:
            if any(previous.first_received <= moment <= low for moment in failing):
                low = hidden[-1]  # the previous step failed calls before: these are its too
            else:
                high = hidden[0]  # errors that began with the change: this step's
        estimate = (low + high) / 2
        if recording.lifecycle.states[segment.state].terminal and not _terminal_before(segments, index):
            evidence = signal[0] if signal is not None else closed
            if evidence is not None and low <= evidence <= high:
                estimate = evidence
        begins.append(max(estimate, begins[-1]))
    return begins


def _terminal_before(segments: list[Segment], index: int) -> bool:
    return any(s.state == segments[index].state for s in segments[:index])


def settable(recording: Recording, segment: Segment) -> dict[str, Any]:
    """The fields a scenario may set in this step: not the state's own fields, not what the engine
    fills in (timestamps, callback records), not the id, and not empty."""
    lifecycle = recording.lifecycle
    shown = {name for state in lifecycle.states.values() for name in state.show}
    automatic = set(lifecycle.timestamps.values())
    if lifecycle.callback is not None:
        automatic |= set(lifecycle.callback.records.values())
    return {
        name: value
        for name, value in sorted(segment.values.items())
        if name in lifecycle.fields
        and name not in shown | automatic
        and value is not None
        and value != recording.id
    }


def _step_at(begins: list[float], moment: float) -> int:
    index = 0
    for position, begin in enumerate(begins):
        if begin <= moment:
            index = position
    return index


def _merge_fault(step: dict[str, Any], parts: Mapping[str, Any], operation: str) -> None:
    fault = step.setdefault("fault", {})
    operations = set(fault.get("operations", ())) | {operation}
    fault.update(parts)
    fault["operations"] = sorted(operations)


def _add_call_faults(
    recording: Recording, steps: list[dict[str, Any]], begins: list[float], answered: frozenset[str]
) -> None:
    """Error answers (429, 5xx, ...) to calls about the resource become the step's ``fault``: the
    first N calls of the step (``times``) when only those failed, else a ``probability``."""
    grouped: dict[tuple[int, str], list[Any]] = {}
    for call in sorted(recording.calls, key=lambda c: c.at):
        if call.operation in answered:
            continue
        grouped.setdefault((_step_at(begins, call.at), call.operation), []).append(call)
    for (index, operation), calls in sorted(grouped.items()):
        failed = [c for c in calls if c.status in ERROR_STATUSES]
        if not failed:
            continue
        parts: dict[str, Any] = {"status": Counter(c.status for c in failed).most_common(1)[0][0]}
        if all(c.status in ERROR_STATUSES for c in calls[: len(failed)]) and len(failed) < len(calls):
            parts["times"] = len(failed)
        else:
            parts["probability"] = round(len(failed) / len(calls), 2)
        retry = [c.retry_after for c in failed if c.retry_after is not None]
        if retry:
            parts["retry_after"] = format_duration(retry[0])
        _merge_fault(steps[index], parts, operation)


def main_stream(streams: list[StreamCapture]) -> StreamCapture | None:
    """The stream that saw most of the reply (a client may reconnect or read twice)."""
    if not streams:
        return None
    return max(streams, key=lambda s: (s.words, s.closed_by == "server", -s.opened))


def _add_stream(
    recording: Recording,
    stream: StreamCapture,
    steps: list[dict[str, Any]],
    begins: list[float],
    secrets: Secrets,
) -> None:
    lifecycle = recording.lifecycle
    assert lifecycle.stream is not None  # a stream was read, so the lifecycle has one
    operation = lifecycle.stream.operation
    text = "".join(m.value for _, m in stream.events if m.kind == "text")
    plan: dict[str, Any] = {}
    if text.strip():
        plan["text"] = secrets.text(text.lstrip())
        rate = _rate(recording, stream, begins)
        if rate is not None:
            plan["tokens_per_second"] = rate
    words = 0
    for _, meaning in stream.events:
        if meaning.kind == "text":
            words += len(_WORD.findall(meaning.value))
        elif meaning.kind == "control" and meaning.value == "call_again" and words:
            plan.setdefault("call_again_after", words)
    if plan:  # on the first working step, where the reply starts to flow (else the last step)
        index = next(
            (
                i
                for i, s in enumerate(steps)
                if s["state"] != lifecycle.initial and not lifecycle.states[s["state"]].terminal
            ),
            len(steps) - 1,
        )
        steps[index]["stream"] = plan
    signal = stream.signal
    last = lifecycle.states[steps[-1]["state"]]
    # an error signal before a failed state is what that state sends anyway: not worth writing
    explained = (
        signal is not None
        and signal[1] in lifecycle.stream.error_signals
        and last.terminal
        and any("error" in name for name in last.present)
    )
    if signal is not None and signal[1] != lifecycle.stream.terminal_signals[0] and not explained:
        steps[-1].setdefault("stream", {})["end"] = secrets.text(signal[1])
    for moment, meaning in stream.events:
        if meaning.kind == "malformed":
            _merge_fault(steps[_step_at(begins, moment)], {"malformed": True}, operation)
            break
    if stream.closed_by == "server" and signal is None and stream.closed is not None:
        index = _step_at(begins, stream.closed + 1e-6)
        state = lifecycle.states[steps[index]["state"]]
        silent_cancel = lifecycle.cancel is not None and state.name == lifecycle.cancel.to
        if state.terminal and not (silent_cancel and lifecycle.stream.on_cancel == "close"):
            _merge_fault(steps[index], {"no_terminal": True}, operation)
        elif not state.terminal:
            _merge_fault(steps[index], {"drop_after": stream.frames}, operation)


def stream_timing(recording: Recording, stream: StreamCapture, begins: list[float]) -> dict[str, Any]:
    """The stream's first-token delay (after the working phase began), the gaps between its words
    and its longest stall; nothing for a reply cut short (its pace keeps every recorded word due
    before the end) or with fewer than two pieces of text."""
    lifecycle = recording.lifecycle
    last = lifecycle.states[recording.segments[-1].state]
    cut = not last.terminal or any("error" in name for name in last.present)
    cut = cut or (lifecycle.cancel is not None and last.name == lifecycle.cancel.to)
    signal = stream.signal  # a reply that ended otherwise than with the usual signal was cut too
    ended = (
        lifecycle.stream is not None
        and signal is not None
        and signal[1] == lifecycle.stream.terminal_signals[0]
    )
    cut = cut or not ended
    texts = [(t, len(m.value.split()) or 1) for t, m in stream.events if m.kind == "text"]
    if cut or len(texts) < 2:
        return {}
    working = next(
        (
            begins[i]
            for i, s in enumerate(recording.segments)
            if s.state != lifecycle.initial and not lifecycle.states[s.state].terminal
        ),
        begins[0],
    )
    gaps = [(later - earlier) / words for (earlier, _), (later, words) in pairwise(texts)]
    data: dict[str, Any] = {"first": format_duration(max(0.0, texts[0][0] - max(working, stream.opened)))}
    usual = median(gaps)
    longest = max(range(len(gaps)), key=lambda i: gaps[i])
    if gaps[longest] >= max(_STALL, 5 * usual):
        words_before = sum(words for _, words in texts[: longest + 1])
        data["stall"] = {"after": words_before, "seconds": format_duration(gaps[longest] - usual)}
        gaps = gaps[:longest] + gaps[longest + 1 :]
    if gaps:
        data["gap"] = durations(distribution(gaps))
    return data


def durations(value: Any) -> Any:
    """Seconds written as the scenario's durations (``0.25s``) inside a latency's shape."""
    if isinstance(value, float | int):
        return format_duration(float(value))
    if isinstance(value, dict):
        return {key: durations(item) for key, item in value.items()}
    if isinstance(value, list):
        return [durations(item) for item in value]
    return value


def _rate(recording: Recording, stream: StreamCapture, begins: list[float]) -> float | None:
    """Words per second over the working phase, as observed; fast enough that every recorded word
    is due before the phase ended (a reply cut short by an error is replayed whole, as recorded)."""
    lifecycle = recording.lifecycle
    working = [
        i
        for i, s in enumerate(recording.segments)
        if s.state != lifecycle.initial and not lifecycle.states[s.state].terminal
    ]
    if not working:
        return None  # nothing flows before the end: the whole reply comes with the terminal state
    start = begins[working[0]]
    end = next(
        (
            begins[i]
            for i in range(working[0], len(begins))
            if lifecycle.states[recording.segments[i].state].terminal
        ),
        None,
    )
    times = [t for t, m in stream.events for _ in _WORD.findall(m.value) if m.kind == "text"]
    if not times:
        return None
    rate = len(times) / max(times[-1] - start, 1e-3)
    if end is not None and end > start:
        rate = max(rate, (len(times) + 1) / (end - start))
    return math.ceil(rate * 100) / 100  # rounded up: never slower than observed


def _description(steps: list[dict[str, Any]], source: str) -> str:
    walk = ", ".join(
        step["state"] if "after" not in step else f"{step['state']} after {step['after']}" for step in steps
    )
    return f"Recorded from {source}: {walk}."

"""What the server did across a recording session, as the scenario parts the mock replays.

A server's answers, its reactions to a client's action, the way it writes timestamps and how long
it takes are the server's, not one resource's: every scenario file of a session carries them.

- ``answers``: per operation about a resource (not its create, views, cancel or delete), the
  answer when every one had the same status (an answer that varied is left to the mock);
  the stream's only when it refused to open.
- ``reactions``: each action whose resource was watched afterwards: the answer and the steps seen
  after it (the first entered at the action), from the state it was taken in.
- ``formats``: each timestamp field's text format (a tz-naive one names the spec's
  ``naive-datetime`` deviation that lists the field).
- ``timing``: each operation's answer times as a distribution; the stream's first-token delay,
  its gaps and its longest stall.

Pure: recordings in, data out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lifecycle.formats import format_data
from lifecycle.model import Lifecycle
from lifecycle.reactions import mark_id
from lifecycle.timing import distribution
from recorder.compose import begins_of, durations, format_duration, main_stream, settable
from recorder.recording import Acted, Answered, Recording
from recorder.secrets import Secrets


@dataclass(frozen=True, slots=True)
class Behaviour:
    """The session-wide scenario parts and the operations whose answers are replayed as recorded."""

    parts: dict[str, Any] = field(default_factory=dict)
    deviations: frozenset[str] = frozenset()
    answered: frozenset[str] = frozenset()


def behaviour(
    recordings: Sequence[Recording], latencies: Mapping[str, Sequence[float]], secrets: Secrets
) -> Behaviour:
    """The parts every scenario file of the session carries."""
    if not recordings:
        return Behaviour()
    lifecycle = recordings[0].lifecycle
    parts: dict[str, Any] = {}
    deviations: set[str] = set()
    answers = _answers(recordings, lifecycle, secrets)
    if answers:
        parts["answers"] = answers
    reactions = [
        reaction
        for recording in recordings
        for acted in recording.actions
        if (reaction := _reaction(recording, acted, secrets, deviations)) is not None
    ]
    merged = _merged(reactions)
    if merged:
        parts["reactions"] = merged
    formats: dict[str, Any] = {}
    for recording in recordings:
        for name, found in recording.formats.items():
            formats.setdefault(name, format_data(found))
    if formats:
        parts["formats"] = dict(sorted(formats.items()))
        deviations |= _naive_deviations(lifecycle, formats)
    timing = _timing(latencies)
    if timing:
        parts["timing"] = timing
    # errors of these operations are replayed as recorded answers (and reactions), not as faults
    acted = {answered.answer.operation for recording in recordings for answered in recording.actions}
    return Behaviour(parts, frozenset(deviations), frozenset(answers) | frozenset(acted))


def _merged(reactions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reactions that differ only in their timings and the state they were met in, as one whose
    ``from`` lists those states (the first one's timings are kept)."""
    merged: dict[str, dict[str, Any]] = {}
    for reaction in reactions:
        steps = [{k: v for k, v in step.items() if k != "after"} for step in reaction.get("steps", [])]
        key = json.dumps(
            {**reaction, "from": [], "steps": steps, "timed": "steps" in reaction}, sort_keys=True
        )
        kept = merged.setdefault(key, reaction)
        if kept is not reaction:
            kept["from"] = sorted(set(kept["from"]) | set(reaction["from"]))
    return list(merged.values())


def _answer_data(answered: Answered, resource_id: str, secrets: Secrets) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": answered.status,
        "body": secrets.clean(mark_id(answered.body, resource_id)),
    }
    if answered.dropped:
        data["connection"] = "drop"
    return data


def _answers(recordings: Sequence[Recording], lifecycle: Lifecycle, secrets: Secrets) -> dict[str, Any]:
    actions = {part.operation for part in (lifecycle.cancel, lifecycle.delete) if part is not None}
    stream = lifecycle.stream.operation if lifecycle.stream is not None else None
    seen: dict[str, list[tuple[Recording, Answered]]] = {}
    for recording in recordings:
        for answered in recording.answers:
            if answered.operation in actions or (answered.operation == stream and answered.status < 300):
                continue
            seen.setdefault(answered.operation, []).append((recording, answered))
    for recording in recordings:  # a stream that did open: the mock's own stream replays it
        for call in recording.calls:
            if call.operation == stream and call.status < 300:
                seen.pop(stream, None)
    found: dict[str, Any] = {}
    for operation, answers in sorted(seen.items()):
        if len({answered.status for _, answered in answers}) == 1:
            recording, first = answers[0]
            data = _answer_data(first, recording.id, secrets)
            if any(answered.dropped for _, answered in answers):
                data["connection"] = "drop"
            found[operation] = data
    return found


def _reaction(
    recording: Recording, acted: Acted, secrets: Secrets, deviations: set[str]
) -> dict[str, Any] | None:
    """The reaction ``acted`` met: the answer, and the steps seen after it (None if never looked at)."""
    lifecycle = recording.lifecycle
    reaction: dict[str, Any] = {
        "action": acted.action,
        "from": [acted.state],
        "answer": _answer_data(acted.answer, recording.id, secrets),
    }
    segments = recording.segments
    after = [index for index, segment in enumerate(segments) if segment.first_sent >= acted.sent]
    ok = acted.answer.status < 300
    if acted.action == "delete":
        if not ok:
            reaction["resource"] = "kept"
            deviations.update(_status_deviations(lifecycle, acted.answer))
            reaction["steps"] = []  # a failed delete: the resource walks on as it would have
        return reaction
    if not after:
        looked = any(s.last_sent >= acted.sent for s in segments)
        if not looked:
            return None  # nobody read the resource after the action: what it did is unknown
        reaction["steps"] = []  # read again, and unchanged
        return reaction
    begins = begins_of(recording, main_stream(recording.streams))
    steps: list[dict[str, Any]] = []
    for position, index in enumerate(after):
        segment = segments[index]
        step: dict[str, Any] = {"state": segment.state}
        if position:
            start = acted.answer.at if position == 1 else begins[index - 1]  # the first: at the action
            step["after"] = format_duration(max(0.0, begins[index] - start))
        values = settable(recording, segment)
        if values:
            step["set"] = secrets.clean(values)
        if segment.notes and position:  # the first step's notes are about the action's own move
            step["off_contract"] = [secrets.clean(note) for note in segment.notes]
        steps.append(step)
    deviations.update(recording.deviations)
    reaction["steps"] = steps
    return reaction


def _status_deviations(lifecycle: Lifecycle, answered: Answered) -> set[str]:
    return {
        deviation.name
        for deviation in lifecycle.deviations
        if deviation.kind == "extra-statuses"
        and deviation.effect["operation"] == answered.operation
        and answered.status in deviation.effect["statuses"]
    }


def _naive_deviations(lifecycle: Lifecycle, formats: Mapping[str, Any]) -> set[str]:
    naive = {name for name, data in formats.items() if data["offset"] == "none"}
    return {
        deviation.name
        for deviation in lifecycle.deviations
        if deviation.kind == "naive-datetime" and naive & set(deviation.effect["fields"])
    }


def _timing(latencies: Mapping[str, Sequence[float]]) -> dict[str, Any]:
    timing: dict[str, Any] = {}
    latency = {
        operation: durations(distribution(samples)) for operation, samples in latencies.items() if samples
    }
    if latency:
        timing["latency"] = dict(sorted(latency.items()))
    return timing

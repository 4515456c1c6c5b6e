"""The lifecycle checks on a sequence of observations of one resource.

Each function looks at what was observed and reports violations under a stable check name. Known
real-server deviations (the spec's ``deviations``) excuse a violation when their tolerance is on;
it is then reported as a warning naming the deviation.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

from contracts.observe import Observation, parse_time
from lifecycle.model import Deviation, Lifecycle

CHECKS = (
    "lifecycle.state_known",
    "lifecycle.transitions",
    "lifecycle.terminal_sticky",
    "lifecycle.fields",
    "lifecycle.allowed_values",
    "lifecycle.timestamps",
    "lifecycle.reaches_terminal",
)


def problems(lifecycle: Lifecycle, seen: list[Observation]) -> Iterator[tuple[str, str, Deviation | None]]:
    """(check, message, excusing deviation) for everything wrong in ``seen``."""
    answered = [o for o in seen if o.status == 200]
    for observation in answered:
        if observation.state is None and observation.note:
            yield (
                "lifecycle.state_known",
                f"expected a JSON body showing a state; the read answered 200 with {observation.note} "
                f"(at {observation.at:.2f}s)",
                None,
            )
        elif observation.state is None:
            values = {k: v for k, v in observation.values.items() if k in _shown_fields(lifecycle)}
            yield (
                "lifecycle.state_known",
                f"values {values} are no state of the lifecycle (at {observation.at:.2f}s)",
                None,
            )
    states = [o for o in answered if o.state is not None]
    for before, after in itertools.pairwise(states):
        assert before.state is not None
        assert after.state is not None
        if before.state == after.state:
            continue
        if lifecycle.states[before.state].terminal:
            excuse = extra_transition(lifecycle, before.state, after.state)
            yield (
                "lifecycle.terminal_sticky",
                f"terminal state {before.state!r} changed to {after.state!r} at {after.at:.2f}s",
                excuse,
            )
        elif not lifecycle.allows(before.state, after.state):
            excuse = extra_transition(lifecycle, before.state, after.state)
            allowed = sorted(lifecycle.transitions.get(before.state, ()))
            yield (
                "lifecycle.transitions",
                f"{before.state!r} -> {after.state!r} is not allowed (allowed: {allowed})",
                excuse,
            )
    for observation in states:
        yield from _field_problems(lifecycle, observation)
        yield from _timestamp_problems(lifecycle, observation)


def _field_problems(
    lifecycle: Lifecycle, observation: Observation
) -> Iterator[tuple[str, str, Deviation | None]]:
    assert observation.state is not None
    state = lifecycle.states[observation.state]
    mapped = observation.values
    for field in sorted(state.present & mapped.keys()):
        if mapped[field] is None:
            yield (
                "lifecycle.fields",
                f"{field!r} must be set in state {state.name!r} but is missing or null",
                None,
            )
    for field in sorted(state.absent & mapped.keys()):
        if mapped[field] is not None:
            yield (
                "lifecycle.fields",
                f"{field!r} must be null in state {state.name!r} but is {mapped[field]!r}",
                None,
            )
    for field, allowed in state.allowed.items():
        value = mapped.get(field)
        if field in mapped and value not in allowed:
            excuse = extra_value(lifecycle, state.name, field, value)
            yield (
                "lifecycle.allowed_values",
                f"{field}={value!r} is not allowed in state {state.name!r} "
                f"(allowed: {sorted(map(str, allowed))})",
                excuse,
            )


def _timestamp_problems(
    lifecycle: Lifecycle, observation: Observation
) -> Iterator[tuple[str, str, Deviation | None]]:
    assert observation.state is not None
    terminal = lifecycle.states[observation.state].terminal
    stamps = {role: field for role, field in lifecycle.timestamps.items() if field in observation.values}
    moments: dict[str, datetime] = {}
    for role, field in stamps.items():
        raw = observation.values[field]
        if raw is None:
            continue
        moment, has_offset = parse_time(raw)
        if moment is None:
            yield "lifecycle.timestamps", f"{field}={raw!r} is not an RFC 3339 timestamp", None
            continue
        if not has_offset:
            excuse = naive_datetime(lifecycle, field)
            yield "lifecycle.timestamps", f"{field}={raw!r} has no UTC offset", excuse
            moment = moment.replace(tzinfo=None)
        moments[role] = moment.replace(tzinfo=None) if moment.tzinfo is None else moment
    completed = stamps.get("completed")
    if completed is not None:
        present = observation.values.get(completed) is not None
        if terminal and not present:
            yield (
                "lifecycle.timestamps",
                f"{completed!r} is missing in terminal state {observation.state!r}",
                None,
            )
        if not terminal and present:
            yield (
                "lifecycle.timestamps",
                f"{completed!r} is set in non-terminal state {observation.state!r}",
                None,
            )
    ordered = [moments[role] for role in ("created", "updated", "completed") if role in moments]
    comparable = all(m.tzinfo is None for m in ordered) or all(m.tzinfo is not None for m in ordered)
    if comparable and ordered != sorted(ordered):
        shown = {
            role: observation.values[stamps[role]]
            for role in ("created", "updated", "completed")
            if role in moments
        }
        yield (
            "lifecycle.timestamps",
            f"timestamps out of order (created <= updated <= completed): {shown}",
            None,
        )


def _shown_fields(lifecycle: Lifecycle) -> set[str]:
    return {field for state in lifecycle.states.values() for field in state.show}


def extra_transition(lifecycle: Lifecycle, source: str, target: str) -> Deviation | None:
    """The known deviation that lets real servers move ``source -> target``, if any."""
    return next(
        (
            d
            for d in lifecycle.deviations
            if d.kind == "extra-transitions" and target in d.effect["transitions"].get(source, ())
        ),
        None,
    )


def extra_value(lifecycle: Lifecycle, state: str, field: str, value: object) -> Deviation | None:
    """The known deviation that lets ``field`` take ``value`` in ``state``, if any."""
    return next(
        (
            d
            for d in lifecycle.deviations
            if d.kind == "extra-values"
            and (d.effect["state"], d.effect["field"]) == (state, field)
            and value in d.effect["values"]
        ),
        None,
    )


def naive_datetime(lifecycle: Lifecycle, field: str) -> Deviation | None:
    """The known deviation that lets ``field`` be written without a UTC offset, if any."""
    return next(
        (d for d in lifecycle.deviations if d.kind == "naive-datetime" and field in d.effect["fields"]), None
    )


def unused_states(lifecycle: Lifecycle, seen: list[Observation]) -> Iterator[tuple[str, Deviation]]:
    """A known ``unused-states`` deviation seen live: a resource that reached a terminal state
    without ever showing a working (non-terminal) state the deviation says real servers skip."""
    shown = [o.state for o in seen if o.state is not None]
    terminal = next((s for s in shown if lifecycle.states[s].terminal), None)
    if terminal is None:
        return
    for deviation in lifecycle.deviations:
        if deviation.kind != "unused-states":
            continue
        skipped = [
            s
            for s in deviation.effect["states"]
            if s in lifecycle.states and not lifecycle.states[s].terminal and s not in shown
        ]
        if skipped:
            path = " -> ".join(dict.fromkeys(shown))
            yield (
                f"expected the resource to pass through {skipped} before {terminal!r}; "
                f"{len(seen)} reads showed {path}",
                deviation,
            )

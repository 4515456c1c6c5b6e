"""A scenario's steps: a state, when it begins, the values it sets, its fault and its stream.

Steps are the timeline a resource walks from its creation (``Scenario.steps``) and the walk that
follows a client's action in a recorded reaction (``Reaction.steps``); both are written the same
way and built here from data the scenario schema has already accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.durations import parse_duration
from lifecycle.faults import Fault, parse_fault


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """What a resource's stream carries (each part optional; the mock fills in the rest)."""

    text: str | None = None
    tokens_per_second: float | None = None
    jitter: float = 0.0
    end: str | None = None
    call_again_after: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One step: a state, when it begins, and the field values it sets."""

    state: str
    after: float | None = None
    after_reads: int | None = None
    set: Mapping[str, Any] = field(default_factory=dict)
    fault: Fault | None = None
    stream: Mapping[str, Any] = field(default_factory=dict)
    # what a recorded server did here that the spec forbids (``comeback record``); waives those checks
    off_contract: tuple[Mapping[str, str], ...] = ()


def build_step(raw: Mapping[str, Any], aliases: Mapping[str, str]) -> Step:
    """A ``Step`` from a schema-valid step mapping; a state may be named as the API shows it."""
    return Step(
        state=aliases.get(raw["state"], raw["state"]),
        after=parse_duration(raw["after"]) if "after" in raw else None,
        after_reads=raw.get("after_reads"),
        set=dict(raw.get("set", {})),
        fault=parse_fault(raw["fault"]) if "fault" in raw else None,
        stream=dict(raw.get("stream", {})),
        off_contract=tuple(dict(note) for note in raw.get("off_contract", ())),
    )

"""How long a recorded server took: latency per operation and the timing of its stream's frames.

``comeback record`` writes a scenario's ``timing:`` from what it measured: each operation's answer
times as a distribution (``latency``: a fixed delay, ``{uniform: [low, high]}`` or
``{long_tail: {median, p99}}``), and the stream's first-frame delay, the gaps between its frames
and its longest stall. The mock sleeps and paces its answers and frames by them, divided by
``--speed`` like every other scenario time.

    >>> timing = parse_timing({"latency": {"retrieveRun": "20ms"}, "stream": {"first": "150ms"}})
    >>> timing.latency["retrieveRun"].low
    0.02
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from lifecycle.durations import parse_duration
from lifecycle.faults import Latency, parse_fault


@dataclass(frozen=True, slots=True)
class Stall:
    """Nothing at all on the stream for ``seconds``, after its ``after``-th token."""

    after: int
    seconds: float


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """When a stream's tokens come: ``first`` after its working phase began, then ``gap`` apart."""

    first: float | None = None
    gap: Latency | None = None
    stall: Stall | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """A recorded server's timing: latency per operationId, and its stream's."""

    latency: Mapping[str, Latency] = field(default_factory=dict)
    stream: StreamTiming | None = None


def parse_latency(raw: Any) -> Latency:
    """A latency written as a fault's ``latency`` is (schema-valid)."""
    latency = parse_fault({"latency": raw}).latency
    assert latency is not None
    return latency


def parse_timing(raw: Mapping[str, Any]) -> Timing:
    """``timing:`` of a schema-valid scenario."""
    stream = raw.get("stream")
    stream_timing = None
    if stream is not None:
        stall = stream.get("stall")
        stream_timing = StreamTiming(
            first=parse_duration(stream["first"]) if "first" in stream else None,
            gap=parse_latency(stream["gap"]) if "gap" in stream else None,
            stall=Stall(int(stall["after"]), parse_duration(stall["seconds"])) if stall else None,
        )
    return Timing(
        {operation: parse_latency(value) for operation, value in raw.get("latency", {}).items()},
        stream_timing,
    )


def distribution(samples: Sequence[float]) -> dict[str, Any] | float:
    """Measured durations as the latency a scenario writes: one sample is fixed, a spread with a
    long tail (the slowest more than twice the median) is ``long_tail``, else ``uniform``."""
    ordered = sorted(max(0.0, sample) for sample in samples)
    if len(ordered) == 1 or ordered[0] == ordered[-1]:
        return ordered[0]
    middle = median(ordered)
    slowest = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    if len(ordered) >= 5 and middle > 0 and slowest > 2 * middle:
        return {"long_tail": {"median": middle, "p99": slowest}}
    return {"uniform": [ordered[0], ordered[-1]]}


def token_offsets(timing: StreamTiming, count: int, draw: Any) -> list[float]:
    """Seconds after the working phase began at which each of ``count`` tokens is due: ``first``,
    then gaps drawn from ``gap`` (``draw(index)`` gives a uniform number in [0, 1)), plus the stall."""
    moments: list[float] = []
    moment = timing.first or 0.0
    for index in range(count):
        if index:
            moment += timing.gap.sample(draw(index)) if timing.gap is not None else 0.0
        if timing.stall is not None and index == timing.stall.after:
            moment += timing.stall.seconds
        moments.append(moment)
    return moments

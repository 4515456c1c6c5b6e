"""Faults: what a scenario step or a request header asks the mock to do wrong, and when.

A fault can delay an answer (fixed, uniform or long-tail latency), replace it with an error status
(for the next N calls, or with a seeded probability; 429 may carry Retry-After), or spoil a stream
(drop after N events, stall, a malformed frame, no terminal signal, slow drip). Parsing and the
seeded decisions are pure; the mock applies them.

    >>> parse_header("status=503; times=2")
    Fault(status=503, times=2, ...)
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

from lifecycle.durations import parse_duration
from lifecycle.errors import ComebackError

LatencyKind = Literal["fixed", "uniform", "long-tail"]
HEADER = "x-mock-fault"
MAX_FAULT_SECONDS = 3600.0  # latency, retry_after, stall, drip: an hour is longer than any test waits
MAX_FAULT_COUNT = 1_000_000  # times, drop_after


@dataclass(frozen=True, slots=True)
class Latency:
    """A delay: fixed ``low``; uniform in [low, high]; or long-tail with median ``low`` and p99 ``high``."""

    kind: LatencyKind
    low: float
    high: float

    def sample(self, draw: float) -> float:
        """The delay for a uniform ``draw`` in [0, 1)."""
        if self.kind == "fixed":
            return self.low
        if self.kind == "uniform":
            return self.low + (self.high - self.low) * draw
        # log-normal through the median and the 99th percentile: most calls fast, a few very slow
        sigma = math.log(self.high / self.low) / 2.326 if self.high > self.low > 0 else 0.0
        z = NormalDist().inv_cdf(min(max(draw, 1e-9), 1 - 1e-9))
        return self.low * math.exp(sigma * z)


@dataclass(frozen=True, slots=True)
class Fault:
    """Everything one fault asks for; unset parts do nothing."""

    latency: Latency | None = None
    status: int | None = None
    retry_after: float | None = None
    times: int | None = None  # the error status for this many calls, then no more
    probability: float | None = None  # the error status with this seeded probability
    operations: frozenset[str] = field(default_factory=frozenset)  # only these operations (empty: all)
    drop_after: int | None = None  # stream: cut the connection after this many events
    stall: float | None = None  # stream: send nothing, not even keep-alives, for this long
    malformed: bool = False  # stream: send one frame that does not parse
    no_terminal: bool = False  # stream: close without the vendor's terminal signal
    drip: float | None = None  # stream: this many seconds between frames

    def applies_to(self, operation: str) -> bool:
        return not self.operations or operation in self.operations

    def errs(self, calls_so_far: int, key: str) -> bool:
        """Whether call number ``calls_so_far`` (0-based, per resource or header) gets the error status."""
        if self.status is None:
            return False
        if self.times is not None and calls_so_far >= self.times:
            return False
        if self.probability is not None:
            return _draw(f"{key}:{calls_so_far}:status") < self.probability
        return True

    def delay(self, calls_so_far: int, key: str) -> float:
        return (
            self.latency.sample(_draw(f"{key}:{calls_so_far}:latency")) if self.latency is not None else 0.0
        )


class FaultError(ComebackError, ValueError):
    """A fault description that cannot be used; the message says which part and why."""


def parse_fault(data: Mapping[str, Any]) -> Fault:
    """A fault from a scenario step's ``fault:`` mapping (already schema-valid) or a parsed header."""
    status = data.get("status")
    if status is not None and not (isinstance(status, int) and 400 <= status <= 599):
        raise FaultError(f"status must be an HTTP error status 400-599, not {status!r}")
    probability = data.get("probability")
    if probability is not None and not (isinstance(probability, int | float) and 0 <= probability <= 1):
        raise FaultError(f"probability must be between 0 and 1, not {probability!r}")
    return Fault(
        latency=_latency(data["latency"]) if "latency" in data else None,
        status=status,
        retry_after=_seconds(data, "retry_after"),
        times=_count(data, "times"),
        probability=float(probability) if probability is not None else None,
        operations=frozenset(data.get("operations", ())),
        drop_after=_count(data, "drop_after"),
        stall=_seconds(data, "stall"),
        malformed=bool(data.get("malformed", False)),
        no_terminal=bool(data.get("no_terminal", False)),
        drip=_seconds(data, "drip"),
    )


_HEADER_KEYS = {
    "latency",
    "status",
    "retry_after",
    "times",
    "probability",
    "drop_after",
    "stall",
    "malformed",
    "no_terminal",
    "drip",
}
_FLAGS = {"malformed", "no_terminal"}


def parse_header(text: str) -> Fault:
    """A fault from ``X-Mock-Fault: status=503; latency=200ms..2s; drop_after=5; malformed``."""
    data: dict[str, Any] = {}
    for part in (piece.strip() for piece in text.split(";")):
        if not part:
            continue
        key, _, value = part.partition("=")
        key = key.strip().lower().replace("-", "_")
        if key not in _HEADER_KEYS:
            raise FaultError(f"unknown fault {key!r}; known: {', '.join(sorted(_HEADER_KEYS))}")
        if key in _FLAGS:
            data[key] = value.strip().lower() not in ("false", "0", "no")
        elif key == "latency":
            data[key] = _latency_text(value.strip())
        elif key in ("status", "times", "drop_after"):
            data[key] = _integer(key, value)
        elif key == "probability":
            data[key] = _number(key, value)
        else:
            data[key] = value.strip()
    return parse_fault(data)


def _latency(value: Any) -> Latency:
    if isinstance(value, Mapping):
        if "uniform" in value:
            low, high = (_capped("latency", v) for v in value["uniform"])
            return _ordered("uniform", low, high)
        tail = value["long_tail"]
        return _ordered("long-tail", _capped("latency", tail["median"]), _capped("latency", tail["p99"]))
    seconds = _capped("latency", value)
    return Latency("fixed", seconds, seconds)


def _capped(key: str, value: Any) -> float:
    """A fault's duration in seconds: finite, from 0 to ``MAX_FAULT_SECONDS``."""
    try:
        seconds = parse_duration(value)
    except ValueError as error:
        raise FaultError(f"{key} must be a duration such as 2s, not {value!r}") from error
    if seconds > MAX_FAULT_SECONDS:
        raise FaultError(f"{key} must be at most 1 hour ({MAX_FAULT_SECONDS:g} s), not {value!r}")
    return seconds


def _latency_text(value: str) -> Any:
    """``200ms`` fixed, ``100ms..500ms`` uniform, ``tail:100ms..2s`` long-tail (median..p99)."""
    try:
        if value.startswith("tail:"):
            median, p99 = value[5:].split("..")
            return {"long_tail": {"median": median, "p99": p99}}
        if ".." in value:
            return {"uniform": value.split("..")}
        parse_duration(value)
    except ValueError as error:
        raise FaultError(
            f"latency {value!r} is not a duration such as 200ms, 100ms..500ms or tail:100ms..2s"
        ) from error
    return value


def _ordered(kind: LatencyKind, low: float, high: float) -> Latency:
    if high < low:
        raise FaultError(f"{kind} latency range goes backwards: {low} s .. {high} s")
    return Latency(kind, low, high)


def _seconds(data: Mapping[str, Any], key: str) -> float | None:
    return _capped(key, data[key]) if key in data else None


def _count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is not None and (
        not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_FAULT_COUNT
    ):
        raise FaultError(f"{key} must be a whole number from 1 to {MAX_FAULT_COUNT}, not {value!r}")
    return value


def _integer(key: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise FaultError(f"{key} must be a whole number, not {text.strip()!r}") from None


def _number(key: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise FaultError(f"{key} must be a number, not {text.strip()!r}") from None


def _draw(key: str) -> float:
    """A uniform number in [0, 1) fixed by ``key`` (the mock's seed, the resource and the call)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64

"""Recorded timelines written as scenario files: one file per distinct timeline, checked first.

Two recordings are the same timeline when their states, fields, stream and faults agree and each
step took about as long (within half, or two poll intervals); the first one's timings are written.
A file is checked through ``lifecycle.scenario`` exactly as ``comeback serve`` will load it, and
its name says how it ended: ``recorded-<last state>-<hash>.yaml``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lifecycle.errors import SourceError
from lifecycle.model import Lifecycle
from lifecycle.scenario import load_scenario
from recorder.behaviour import Behaviour
from recorder.compose import Composed


@dataclass(slots=True)
class Group:
    """Recordings of one timeline: the first one's scenario, how many matched, where it was written."""

    composed: Composed
    count: int = 1
    path: Path | None = None
    ids: list[str] = field(default_factory=list)
    recorded_at: str = ""  # when the first one was created (UTC)


def same_timeline(a: Composed, b: Composed, slack: float) -> bool:
    """Same states, fields, stream and faults, and every step about as long."""
    if a.key != b.key or len(a.durations) != len(b.durations):
        return False
    return all(
        abs(x - y) <= max(0.5 * max(x, y), slack) for x, y in zip(a.durations, b.durations, strict=True)
    )


def scenario_name(composed: Composed, taken: set[str]) -> str:
    digest = hashlib.sha256(
        (composed.key + ",".join(f"{d:.1f}" for d in composed.durations)).encode()
    ).hexdigest()[:8]
    name = f"recorded-{composed.last_state}-{digest}"
    number = 2
    candidate = name
    while candidate in taken:
        candidate = f"{name}-{number}"
        number += 1
    return candidate


def with_behaviour(data: Mapping[str, Any], found: Behaviour, *, default: bool = False) -> dict[str, Any]:
    """A timeline's scenario data with what the session knows of the server (answers, reactions,
    formats, timing, the deviations they show), and ``default: true`` when asked."""
    merged: dict[str, Any] = {"api": data["api"], "description": data["description"]}
    if default:
        merged["default"] = True
    deviations = sorted(set(data.get("deviations", ())) | found.deviations)
    if deviations:
        merged["deviations"] = deviations
    merged["steps"] = data["steps"]
    merged.update(found.parts)
    timing = {**found.parts.get("timing", {}), **data.get("timing", {})}  # latency, then its own stream
    if timing:
        merged["timing"] = timing
    return merged


def render(data: Mapping[str, Any], header: list[str]) -> str:
    """The YAML text: the header as comments, then the scenario."""
    comments = "".join(f"# {line}\n" for line in header)
    body = yaml.safe_dump(as_plain(data), sort_keys=False, allow_unicode=True, width=100)
    return comments + body


def check(text: str, path: Path, lifecycle: Lifecycle, api: str) -> list[str]:
    """Problems ``comeback serve`` would find in the file (none, unless the recorder has a bug)."""
    try:
        load_scenario(text, str(path), lifecycle, api=api)
    except SourceError as error:
        return [str(finding) for finding in error.findings]
    return []


def header_lines(
    group: Group, data: Mapping[str, Any], *, target: str, spec: str, reacted: list[str]
) -> list[str]:
    lines = [
        f"Recorded by `comeback record {spec}` from {target} at {group.recorded_at}.",
        f"{group.count} resource(s) walked this timeline; the times are the first one's"
        " (each step begins `after` the previous one began).",
    ]
    lines.extend(f"OFF CONTRACT: {note}" for note in group.composed.notes)
    for name in data.get("deviations", ()):
        lines.append(f"Known deviation of the spec: {name}")
    if any(key in data for key in ("answers", "reactions", "formats", "timing")):
        lines.append(
            "answers, reactions, formats and timing: what the server did in the whole session"
            f" (reactions from {len(reacted)} resource(s) a client cancelled or deleted)."
        )
    return lines


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".yaml.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def as_plain(value: Any) -> Any:
    """JSON-like data YAML can dump safely (tuples and sets become lists)."""
    if isinstance(value, dict):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [as_plain(v) for v in value]
    return value

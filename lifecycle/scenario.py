"""Scenarios: the timelines created resources walk, loaded from YAML and checked against a lifecycle.

A scenario file ``scenarios/<api>/<name>.yaml`` is validated against the shipped JSON Schema, then
against the API's lifecycle: every state must exist, the first step must be the initial state,
each step must be an allowed transition, nothing may follow a terminal step, and each step must set
the fields its state requires (timestamps and callback records excepted: the engine fills those).

    >>> scenario = load_scenario(text, "scenarios/letta/happy.yaml", spec.lifecycle)
    >>> [step.state for step in scenario.steps]
    ['created', 'completed']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lifecycle.errors import SourceError
from lifecycle.formats import TimestampFormat, parse_formats
from lifecycle.model import Lifecycle
from lifecycle.numbers import number_findings
from lifecycle.reactions import Answer, Reaction, parse_answers, parse_reactions
from lifecycle.scenario_checks import lifecycle_findings, shown_name, state_aliases
from lifecycle.source import Document, load_document
from lifecycle.steps import Step, StreamPlan, build_step
from lifecycle.timing import Timing, parse_timing
from lifecycle.validation import schema_findings, shipped_validator

__all__ = [
    "Scenario",
    "Step",
    "StreamPlan",
    "body_texts",
    "join_texts",
    "load_scenario",
    "scenario_from_data",
    "scenario_from_document",
    "scenario_to_data",
    "shown_name",
    "state_aliases",
]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named, validated timeline for one API."""

    name: str
    api: str
    description: str
    steps: tuple[Step, ...]
    default: bool = False
    match_text: str | None = None
    deviations: frozenset[str] = frozenset()
    source: str = ""
    data: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)  # as written
    # what a recorded server did (``comeback record``), replayed instead of the mock's own behaviour
    answers: Mapping[str, Answer] = field(default_factory=dict)
    reactions: tuple[Reaction, ...] = ()
    formats: Mapping[str, TimestampFormat] = field(default_factory=dict)
    timing: Timing | None = None

    @property
    def stream_plan(self) -> StreamPlan:
        """The steps' ``stream`` parts merged in order (a later step overrides a key)."""
        merged: dict[str, Any] = {}
        for step in self.steps:
            merged.update(step.stream)
        return StreamPlan(**merged)

    def matches(self, body: Any) -> bool:
        """Whether any string inside the create request ``body`` contains the trigger text."""
        return self.matches_texts(body_texts(body))

    def matches_texts(self, texts: tuple[str, ...]) -> bool:
        """``matches`` on a body's ``body_texts`` (a create tries every scenario on one body)."""
        return self.matches_joined(join_texts(texts))

    def matches_joined(self, joined: str) -> bool:
        """``matches`` on a body's ``join_texts(body_texts(body))``: one substring search."""
        if self.match_text is None:
            return False
        needle = self.match_text.lower()
        if _SEPARATOR in needle:  # never in a trigger a person writes; kept exact all the same
            return any(needle in text for text in joined.split(_SEPARATOR))
        return needle in joined


def load_scenario(text: str, source: str, lifecycle: Lifecycle, *, api: str | None = None) -> Scenario:
    """Parse and check a scenario file; raise SourceError listing every problem.

    ``source`` names the file in messages; the scenario's name is the file name without extension.
    ``api``, when given, is the API the file's folder says it belongs to.
    """
    return scenario_from_document(load_document(text, source), lifecycle, api=api)


def scenario_from_data(
    data: Any, source: str, lifecycle: Lifecycle, *, name: str, api: str | None = None
) -> Scenario:
    """Check a scenario given as Python data (e.g. written inline in a test) exactly like a file."""
    return scenario_from_document(Document(source, data, {}), lifecycle, api=api, name=name)


def scenario_from_document(
    document: Document, lifecycle: Lifecycle, *, api: str | None = None, name: str | None = None
) -> Scenario:
    data = document.data
    findings = schema_findings(shipped_validator("scenario.schema.json"), data, document, "")
    if findings:
        raise SourceError(findings)
    if api is not None and data["api"] != api:
        findings.append(
            document.finding(
                "/api",
                "scenario is for another API than its folder",
                found=repr(data["api"]),
                expected=repr(api),
            )
        )
    findings.extend(number_findings(document))
    findings.extend(lifecycle_findings(document, lifecycle))
    if findings:
        raise SourceError(sorted(findings, key=lambda finding: (finding.line or 0, finding.pointer)))
    stem = document.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    aliases = state_aliases(lifecycle)
    return Scenario(
        name=name or stem,
        api=data["api"],
        description=data["description"],
        steps=tuple(build_step(raw, aliases) for raw in data["steps"]),
        default=data.get("default", False),
        match_text=(data.get("match") or {}).get("text_contains"),
        deviations=frozenset(data.get("deviations", ())),
        source=document.name,
        data=data,
        answers=parse_answers(data.get("answers", {})),
        reactions=parse_reactions(data.get("reactions", ()), aliases),
        formats=parse_formats(data.get("formats", {})),
        timing=parse_timing(data["timing"]) if "timing" in data else None,
    )


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as its file (or inline data) wrote it: ready to dump as YAML or JSON."""
    return dict(scenario.data)


_SEPARATOR = "\x00"


def join_texts(texts: tuple[str, ...]) -> str:
    """A body's texts as one string, so a trigger is looked for with one search: the separator
    keeps a trigger from matching across two texts."""
    return _SEPARATOR.join(texts)


def body_texts(body: Any) -> tuple[str, ...]:
    """Every string inside a JSON value, lower-cased (what scenario triggers are looked for in)."""
    found: list[str] = []
    _collect(body, found)
    return tuple(found)


def _collect(value: Any, found: list[str]) -> None:
    if isinstance(value, str):
        found.append(value.lower())
    elif isinstance(value, dict | list):
        for item in value.values() if isinstance(value, dict) else value:
            _collect(item, found)
    elif value is not None and not isinstance(value, bool | int | float) and isinstance(value, Mapping):
        for item in value.values():
            _collect(item, found)

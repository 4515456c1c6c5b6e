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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lifecycle.durations import parse_duration
from lifecycle.errors import SourceError
from lifecycle.faults import Fault, FaultError, parse_fault
from lifecycle.findings import Finding, closest, one_of, show
from lifecycle.model import Lifecycle
from lifecycle.numbers import number_findings
from lifecycle.source import Document, load_document
from lifecycle.validation import schema_findings, shipped_validator


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
    findings.extend(_lifecycle_findings(document, lifecycle))
    if findings:
        raise SourceError(sorted(findings, key=lambda finding: (finding.line or 0, finding.pointer)))
    stem = document.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    aliases = state_aliases(lifecycle)
    return Scenario(
        name=name or stem,
        api=data["api"],
        description=data["description"],
        steps=tuple(
            Step(
                state=_state_named(raw["state"], aliases),
                after=parse_duration(raw["after"]) if "after" in raw else None,
                after_reads=raw.get("after_reads"),
                set=dict(raw.get("set", {})),
                fault=parse_fault(raw["fault"]) if "fault" in raw else None,
                stream=dict(raw.get("stream", {})),
                off_contract=tuple(dict(note) for note in raw.get("off_contract", ())),
            )
            for raw in data["steps"]
        ),
        default=data.get("default", False),
        match_text=(data.get("match") or {}).get("text_contains"),
        deviations=frozenset(data.get("deviations", ())),
        source=document.name,
        data=data,
    )


def shown_name(show: Mapping[str, Any]) -> str:
    """How the API shows a state: its status value (``RUNNING``), or the values of its status
    fields joined by ``/`` in the spec's order (``is_streaming/null``), as the README writes them."""
    return "/".join("null" if value is None else str(value) for value in show.values())


def state_aliases(lifecycle: Lifecycle) -> dict[str, str]:
    """Every way a scenario may name a state -> the lifecycle's name: the name itself and the value
    the API shows (so a QA engineer can write ``RUNNING`` or ``is_streaming/processing``)."""
    aliases = {shown_name(state.show): name for name, state in lifecycle.states.items() if state.show}
    aliases.update({name: name for name in lifecycle.states})  # a lifecycle name always means itself
    return aliases


def _state_named(raw: str, aliases: Mapping[str, str]) -> str:
    return aliases.get(raw, raw)


def _closest_state(word: str, aliases: Mapping[str, str]) -> str | None:
    """The nearest name or shown value (case does not count: ``Running`` -> ``RUNNING``)."""
    folded = {alias.lower(): alias for alias in aliases}
    return folded.get(word.lower()) or closest(word, aliases)


def scenario_to_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as its file (or inline data) wrote it: ready to dump as YAML or JSON."""
    return dict(scenario.data)


def _lifecycle_findings(document: Document, lifecycle: Lifecycle) -> list[Finding]:
    findings: list[Finding] = []
    data = document.data
    deviations = {deviation.name: deviation for deviation in lifecycle.deviations}
    for index, name in enumerate(data.get("deviations", ())):
        if name not in deviations:
            findings.append(
                document.finding(
                    f"/deviations/{index}",
                    "unknown deviation",
                    found=repr(name),
                    expected=one_of(deviations)
                    if deviations
                    else "none: this API's spec declares no deviations",
                    suggestion=closest(name, deviations),
                )
            )
    chosen = frozenset(data.get("deviations", ())) & deviations.keys()
    automatic = set(lifecycle.timestamps.values()) | set(
        lifecycle.callback.records.values() if lifecycle.callback else ()
    )
    shown = {name for state in lifecycle.states.values() for name in state.show}
    aliases = state_aliases(lifecycle)
    others = [alias for alias, name in aliases.items() if alias != name]
    shown_states = f"; or as the API shows them: {one_of(others).removeprefix('one of ')}" if others else ""
    previous: str | None = None
    for index, raw in enumerate(data["steps"]):
        pointer = f"/steps/{index}"
        state_name = _state_named(raw["state"], aliases)
        waived = {(note["kind"], note.get("field", "")) for note in raw.get("off_contract", ())}
        state = lifecycle.states.get(state_name)
        if state is None:
            findings.append(
                document.finding(
                    f"{pointer}/state",
                    "unknown state",
                    found=repr(raw["state"]),
                    expected=one_of(lifecycle.states) + shown_states,
                    suggestion=_closest_state(str(raw["state"]), aliases),
                )
            )
            previous = None
            continue
        if index == 0:
            if state_name != lifecycle.initial:
                findings.append(
                    document.finding(
                        f"{pointer}/state",
                        "the first step must be the initial state",
                        found=repr(state_name),
                        expected=repr(lifecycle.initial),
                    )
                )
            if "after" in raw or "after_reads" in raw:
                findings.append(
                    document.finding(
                        pointer, "the first step begins at creation and takes no after/after_reads"
                    )
                )
        elif previous is not None:
            marked = ("transition", "") in waived  # recorded from a server that broke the lifecycle here
            if lifecycle.states[previous].terminal and not marked:
                findings.append(
                    document.finding(
                        pointer, f"no step may follow the terminal state {previous!r}", found=repr(state_name)
                    )
                )
            elif not marked and not lifecycle.allows(previous, state_name, chosen):
                targets = sorted(lifecycle.transitions.get(previous, ()))
                findings.append(
                    document.finding(
                        f"{pointer}/state",
                        f"transition {previous} -> {state_name} is not allowed",
                        found=repr(state_name),
                        expected=one_of(targets),
                    )
                )
            elif "after" not in raw and "after_reads" not in raw:
                findings.append(
                    document.finding(
                        pointer, "a later step must say when it begins", expected="'after' or 'after_reads'"
                    )
                )
        if "fault" in raw:
            try:
                parse_fault(raw["fault"])
            except (FaultError, ValueError) as error:
                findings.append(document.finding(f"{pointer}/fault", f"unusable fault: {error}"))
        end = raw.get("stream", {}).get("end")
        if end is not None:
            findings.extend(_end_findings(document, f"{pointer}/stream/end", end, lifecycle))
        values = raw.get("set", {})
        for key, value in values.items():
            if ("value", key) in waived:
                continue
            findings.extend(
                _set_findings(
                    document,
                    f"{pointer}/set/{key}",
                    key,
                    value,
                    state_name=state_name,
                    lifecycle=lifecycle,
                    chosen=chosen,
                    automatic=automatic,
                    shown=shown,
                )
            )
        for required in sorted(
            state.present - automatic - shown - set(values) - {f for k, f in waived if k == "missing"}
        ):
            findings.append(
                document.finding(
                    pointer,
                    f"state {state_name!r} requires field {required!r}",
                    expected=f"set: {{{required}: ...}}",
                )
            )
        previous = state_name
    return findings


def _end_findings(document: Document, pointer: str, end: str, lifecycle: Lifecycle) -> list[Finding]:
    """A stream's ``end`` must be a signal the API's stream declares (``__ERROR__:`` as a prefix)."""
    if lifecycle.stream is None:
        return [document.finding(pointer, "this API has no stream to end", found=repr(end))]
    signals = [*lifecycle.stream.terminal_signals, *lifecycle.stream.error_signals]
    if end in signals or any(s.endswith(":") and end.startswith(s) for s in signals):
        return []
    return [
        document.finding(
            pointer,
            "not a terminal signal of this API's stream",
            found=repr(end),
            expected=one_of(signals),
            suggestion=closest(end, signals),
        )
    ]


def _set_findings(
    document: Document,
    pointer: str,
    key: str,
    value: Any,
    *,
    state_name: str,
    lifecycle: Lifecycle,
    chosen: frozenset[str],
    automatic: set[str],
    shown: set[str],
) -> Sequence[Finding]:
    if key not in lifecycle.fields:
        return [
            document.finding(
                pointer,
                "unknown field",
                found=repr(key),
                expected=one_of(lifecycle.fields),
                suggestion=closest(key, lifecycle.fields),
            )
        ]
    if key in shown or key in automatic:
        return [
            document.finding(
                pointer,
                "field is filled in by the engine, not by scenarios",
                found=repr(key),
                expected=one_of(set(lifecycle.fields) - shown - automatic),
            )
        ]
    state = lifecycle.states[state_name]
    allowed = set(state.allowed.get(key, ()))
    if not allowed:
        return []
    for deviation in lifecycle.deviations:
        effect = deviation.effect
        if (
            deviation.name in chosen
            and deviation.kind == "extra-values"
            and effect["state"] == state_name
            and effect["field"] == key
        ):
            allowed.update(effect["values"])
    if value not in allowed:
        hint = closest(value, [str(a) for a in allowed]) if isinstance(value, str) else None
        return [
            document.finding(
                pointer,
                f"value not allowed for {key!r} in state {state_name!r}",
                found=show(value),
                expected=one_of(allowed),
                suggestion=hint,
            )
        ]
    return []


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

"""A schema-valid scenario checked against its API's lifecycle: every problem as a located finding.

Every state must exist (or be named as the API shows it), the first step must be the initial
state, each step an allowed transition (unless a recorded ``off_contract`` note waives it), nothing
may follow a terminal step, and each step must set the fields its state requires. A recorded
reaction's steps are checked the same way, starting from each state the action was recorded in;
``formats`` name lifecycle fields.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lifecycle.faults import FaultError, parse_fault
from lifecycle.findings import Finding, closest, one_of, show
from lifecycle.model import Lifecycle
from lifecycle.source import Document


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


def _closest_state(word: str, aliases: Mapping[str, str]) -> str | None:
    """The nearest name or shown value (case does not count: ``Running`` -> ``RUNNING``)."""
    folded = {alias.lower(): alias for alias in aliases}
    return folded.get(word.lower()) or closest(word, aliases)


@dataclass(frozen=True, slots=True)
class _Context:
    document: Document
    lifecycle: Lifecycle
    chosen: frozenset[str]  # the deviations the scenario names
    automatic: frozenset[str]  # fields the engine fills in
    shown: frozenset[str]  # fields that show the state
    aliases: Mapping[str, str]
    shown_states: str  # "; or as the API shows them: ..." for messages


def lifecycle_findings(document: Document, lifecycle: Lifecycle) -> list[Finding]:
    """Every way the (schema-valid) scenario in ``document`` breaks ``lifecycle``."""
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
    aliases = state_aliases(lifecycle)
    others = [alias for alias, name in aliases.items() if alias != name]
    context = _Context(
        document,
        lifecycle,
        frozenset(data.get("deviations", ())) & deviations.keys(),
        frozenset(lifecycle.timestamps.values())
        | frozenset(lifecycle.callback.records.values() if lifecycle.callback else ()),
        frozenset(name for state in lifecycle.states.values() for name in state.show),
        aliases,
        f"; or as the API shows them: {one_of(others).removeprefix('one of ')}" if others else "",
    )
    findings.extend(_walk_findings(context, data["steps"], "/steps", None))
    for index, reaction in enumerate(data.get("reactions", ())):
        findings.extend(_reaction_findings(context, reaction, f"/reactions/{index}"))
    for name in data.get("formats", {}):
        if name not in lifecycle.fields:
            findings.append(_unknown_field(document, f"/formats/{name}", name, lifecycle))
    return findings


def _unknown_field(document: Document, pointer: str, name: str, lifecycle: Lifecycle) -> Finding:
    return document.finding(
        pointer,
        "unknown field",
        found=repr(name),
        expected=one_of(lifecycle.fields),
        suggestion=closest(name, lifecycle.fields),
    )


def _state_finding(context: _Context, pointer: str, raw: Any) -> Finding:
    return context.document.finding(
        pointer,
        "unknown state",
        found=repr(raw),
        expected=one_of(context.lifecycle.states) + context.shown_states,
        suggestion=_closest_state(str(raw), context.aliases),
    )


def _reaction_findings(context: _Context, reaction: Mapping[str, Any], pointer: str) -> list[Finding]:
    lifecycle, document = context.lifecycle, context.document
    part = lifecycle.cancel if reaction["action"] == "cancel" else lifecycle.delete
    if part is None:
        return [
            document.finding(
                f"{pointer}/action",
                f"this API's lifecycle has no {reaction['action']}",
                found=repr(reaction["action"]),
            )
        ]
    findings: list[Finding] = []
    starts: list[str | None] = []
    for index, raw in enumerate(reaction.get("from", ())):
        name = context.aliases.get(raw)
        if name is None:
            findings.append(_state_finding(context, f"{pointer}/from/{index}", raw))
        else:
            starts.append(name)
    if findings:
        return findings
    for start in starts or [None]:  # recorded in any state: the walk itself must hold together
        found = _walk_findings(context, reaction.get("steps", ()), f"{pointer}/steps", start or "")
        findings.extend(finding for finding in found if finding not in findings)
    return findings


def _walk_findings(
    context: _Context, steps: Sequence[Mapping[str, Any]], prefix: str, start: str | None
) -> list[Finding]:
    """Findings of a walk of steps: from creation (``start`` None), or from the state a reaction
    began in (``""``: unknown; its first step is then not a transition)."""
    document, lifecycle = context.document, context.lifecycle
    findings: list[Finding] = []
    previous: str | None = start or None
    for index, raw in enumerate(steps):
        pointer = f"{prefix}/{index}"
        state_name = context.aliases.get(raw["state"], raw["state"])
        waived = {(note["kind"], note.get("field", "")) for note in raw.get("off_contract", ())}
        state = lifecycle.states.get(state_name)
        if state is None:
            findings.append(_state_finding(context, f"{pointer}/state", raw["state"]))
            previous = None
            continue
        marked = ("transition", "") in waived  # recorded from a server that broke the lifecycle here
        if index == 0:
            if start is None and state_name != lifecycle.initial:
                findings.append(
                    document.finding(
                        f"{pointer}/state",
                        "the first step must be the initial state",
                        found=repr(state_name),
                        expected=repr(lifecycle.initial),
                    )
                )
            if "after" in raw or "after_reads" in raw:
                when = "at creation" if start is None else "at the action"
                findings.append(
                    document.finding(pointer, f"the first step begins {when} and takes no after/after_reads")
                )
            if previous is not None and previous != state_name and not marked:
                findings.extend(_transition_findings(context, pointer, previous, state_name))
        elif previous is not None:
            if lifecycle.states[previous].terminal and not marked:
                findings.append(
                    document.finding(
                        pointer, f"no step may follow the terminal state {previous!r}", found=repr(state_name)
                    )
                )
            elif not marked and not lifecycle.allows(previous, state_name, context.chosen):
                findings.extend(_transition_findings(context, pointer, previous, state_name))
            elif "after" not in raw and "after_reads" not in raw:
                findings.append(
                    document.finding(
                        pointer, "a later step must say when it begins", expected="'after' or 'after_reads'"
                    )
                )
        findings.extend(_step_findings(context, raw, pointer, state_name, waived))
        previous = state_name
    return findings


def _transition_findings(context: _Context, pointer: str, previous: str, state_name: str) -> list[Finding]:
    lifecycle = context.lifecycle
    if lifecycle.states[previous].terminal:
        return [
            context.document.finding(
                pointer, f"no step may follow the terminal state {previous!r}", found=repr(state_name)
            )
        ]
    if lifecycle.allows(previous, state_name, context.chosen):
        return []
    return [
        context.document.finding(
            f"{pointer}/state",
            f"transition {previous} -> {state_name} is not allowed",
            found=repr(state_name),
            expected=one_of(sorted(lifecycle.transitions.get(previous, ()))),
        )
    ]


def _step_findings(
    context: _Context, raw: Mapping[str, Any], pointer: str, state_name: str, waived: set[tuple[str, str]]
) -> list[Finding]:
    document, lifecycle = context.document, context.lifecycle
    findings: list[Finding] = []
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
        if ("value", key) not in waived:
            findings.extend(_set_findings(context, f"{pointer}/set/{key}", key, value, state_name))
    state = lifecycle.states[state_name]
    missing = {name for kind, name in waived if kind == "missing"}
    for required in sorted(state.present - context.automatic - context.shown - set(values) - missing):
        findings.append(
            document.finding(
                pointer,
                f"state {state_name!r} requires field {required!r}",
                expected=f"set: {{{required}: ...}}",
            )
        )
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
    context: _Context, pointer: str, key: str, value: Any, state_name: str
) -> Sequence[Finding]:
    document, lifecycle, chosen = context.document, context.lifecycle, context.chosen
    shown, automatic = context.shown, context.automatic
    if key not in lifecycle.fields:
        return [_unknown_field(document, pointer, key, lifecycle)]
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

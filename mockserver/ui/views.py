"""What the dashboard shows, as JSON-ready values: a resource in the list, one resource in full,
the clock, scenarios and journal entries. Times are epoch seconds on the mock's clock (the page
formats them against that clock, so ages are right on a manual clock too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lifecycle.kinds import kinds, state_kind
from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario
from mockserver.engine import Engine
from mockserver.journal import JournalEntry
from mockserver.store import Resource
from mockserver.streams import reply_so_far


def summary(engine: Engine, resource: Resource) -> dict[str, Any]:
    """A row of the resource list (does not count as a read, and does not touch the resource)."""
    engine.is_done(resource)  # brings the timeline to now without marking the resource as used
    timeline = resource.timeline
    return {
        "api": resource.api,
        "id": resource.id,
        "scenario": resource.scenario,
        "state": timeline.state,
        "terminal": engine.is_terminal(resource),
        "kind": state_kind(engine.lifecycle(resource.api), timeline.state),
        "reads": timeline.reads,
        "created_at": timeline.created_at,
        "changed_at": timeline.current.at,
        "next_change_at": timeline.next_change_at(),
    }


def detail(engine: Engine, resource: Resource) -> dict[str, Any]:
    """Everything about one resource: the list row plus history, the scenario's steps (for the chart),
    its callback, stream and the create request."""
    row = summary(engine, resource)
    timeline = resource.timeline
    lifecycle = engine.lifecycle(resource.api)
    callback: dict[str, Any] | None = None
    if lifecycle.callback is not None:
        outcome = resource.extra.get("callback")
        callback = {"outcome": outcome, "pending": outcome is None and resource.watchers > 0}
    return {
        **row,
        "scope": resource.scope,
        "watchers": resource.watchers,
        "step": timeline.current.step,
        "steps": [step_view(step) for step in timeline.scenario.steps],
        "history": [
            {"state": e.state, "at": e.at, "step": e.step, "cause": e.cause, "values": dict(e.values)}
            for e in timeline.history
        ],
        "can_cancel": lifecycle.cancel is not None
        and not row["terminal"]
        and timeline.state in lifecycle.cancel.from_states,
        "streams": lifecycle.stream is not None,
        "callback": callback,
        "request": resource.request,
    }


def stream_text(engine: Engine, resource: Resource) -> tuple[list[str], int, float | None]:
    """The reply's tokens, how many are due now, and when the next one is (None: not by time)."""
    tokens, plan = reply_so_far(engine, resource)
    due = plan.due(engine.clock.now())
    return tokens, due, plan.next_at(due)


def api_view(lifecycle: Lifecycle) -> dict[str, Any]:
    """What the page needs of an API: its states in order, how each shows (the filter's labels), the
    kind of each terminal state (the colours), whether it streams."""
    return {
        "states": list(lifecycle.states),
        "shows": {
            name: ", ".join(f"{field}={value}" for field, value in state.show.items())
            for name, state in lifecycle.states.items()
        },
        "kinds": kinds(lifecycle),
        "stream": lifecycle.stream is not None,
        "stream_operation": lifecycle.stream.operation if lifecycle.stream is not None else None,
    }


def clock_view(engine: Engine) -> dict[str, Any]:
    manual = engine.settings.clock == "manual"
    return {"mode": "manual" if manual else "real", "speed": engine.settings.speed, "now": engine.clock.now()}


def step_view(step: Any) -> dict[str, Any]:
    return {
        "state": step.state,
        "after": step.after,
        "after_reads": step.after_reads,
        "set": dict(step.set),
        "fault": step.fault is not None,
        "stream": dict(step.stream),
    }


def scenario_view(scenario: Scenario) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "description": scenario.description,
        "match": scenario.match_text,
        "steps": [step_view(step) for step in scenario.steps],
    }


async def scenarios_view(engine: Engine) -> dict[str, Any]:
    """Per API: its scenarios, the default, and the names queued for the next resources."""
    namespace, book = engine.namespace, engine.book
    return {
        name: {
            "default": await book.default(namespace, name),
            "queued": await book.queued(namespace, name),
            "scenarios": [scenario_view(s) for s in api.scenarios.values()],
        }
        for name, api in engine.catalog.items()
    }


def scenario_source(scenario: Scenario) -> str:
    """The scenario's YAML: its file when it can still be read, else written out from its steps
    (without comments, faults or streams, which the parsed form keeps only in parsed shape)."""
    path = Path(scenario.source)
    if scenario.source and path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            pass
    steps: list[dict[str, Any]] = []
    for step in scenario.steps:
        raw: dict[str, Any] = {"state": step.state}
        if step.after is not None:
            raw["after"] = f"{step.after:g}s"
        if step.after_reads is not None:
            raw["after_reads"] = step.after_reads
        if step.set:
            raw["set"] = dict(step.set)
        if step.stream:
            raw["stream"] = dict(step.stream)
        steps.append(raw)
    data: dict[str, Any] = {"api": scenario.api, "description": scenario.description}
    if scenario.match_text:
        data["match"] = {"text_contains": scenario.match_text}
    data["steps"] = steps
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def journal_view(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry as the admin API shows it."""
    return entry.as_dict()

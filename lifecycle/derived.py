"""Scenarios derived from a lifecycle, for a spec that comes with none.

A user's own spec with an ``x-lifecycle`` block is servable at once: the default walks the shortest
path from the initial state to a terminal state that is not the cancel target, one scenario per
other terminal state walks the shortest path there, and ``never-finishes`` stays in the initial
state. Every step takes ``STEP_SECONDS``. The scenarios are built as data and go through the same
checks as files (``scenario_from_data``), so a lifecycle that cannot be walked gives findings.

    >>> [s.name for s in derived_scenarios(lifecycle, "jobs")]
    ['done', 'failed', 'cancelled', 'never-finishes']
"""

from __future__ import annotations

from collections import deque
from typing import Any

from lifecycle.model import Lifecycle
from lifecycle.scenario import Scenario, scenario_from_data

STEP_SECONDS = 2
NEVER_FINISHES = "never-finishes"


def derived_scenarios(lifecycle: Lifecycle, api: str) -> list[Scenario]:
    """The default first, then one per other reachable terminal state, then ``never-finishes``."""
    paths = _shortest_paths(lifecycle)
    cancel_target = lifecycle.cancel.to if lifecycle.cancel is not None else None
    terminals = [name for name in lifecycle.states if lifecycle.states[name].terminal and name in paths]
    preferred = [name for name in terminals if name != cancel_target] or terminals
    # the default: the shortest way to a terminal state other than the cancel target (ties: spec order)
    default = min(preferred, key=lambda name: len(paths[name])) if preferred else None
    ordered = ([default] if default else []) + [name for name in terminals if name != default]
    source = f"<scenario derived from the {api} lifecycle>"
    scenarios = [
        scenario_from_data(
            _data(lifecycle, api, paths[name], default=name == default),
            source,
            lifecycle,
            name=name,
            api=api,
        )
        for name in ordered
    ]
    never = _data(lifecycle, api, [lifecycle.initial], default=default is None)
    never["description"] = f"Stays {lifecycle.initial!r} forever (derived): for timeouts and give-up logic."
    scenarios.append(scenario_from_data(never, source, lifecycle, name=NEVER_FINISHES, api=api))
    return scenarios


def _shortest_paths(lifecycle: Lifecycle) -> dict[str, list[str]]:
    """The shortest path from the initial state to every reachable state (breadth first)."""
    paths = {lifecycle.initial: [lifecycle.initial]}
    queue = deque([lifecycle.initial])
    while queue:
        state = queue.popleft()
        if lifecycle.states[state].terminal:
            continue
        # spec order of the states, so the same lifecycle always derives the same scenarios
        for target in (name for name in lifecycle.states if name in lifecycle.transitions.get(state, ())):
            if target not in paths:
                paths[target] = [*paths[state], target]
                queue.append(target)
    return paths


def _data(lifecycle: Lifecycle, api: str, path: list[str], *, default: bool) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for index, state_name in enumerate(path):
        step: dict[str, Any] = {"state": state_name}
        if index:
            step["after"] = STEP_SECONDS
        values = _required_values(lifecycle, state_name)
        if values:
            step["set"] = values
        steps.append(step)
    walk = " -> ".join(path)
    total = STEP_SECONDS * (len(path) - 1)
    return {
        "api": api,
        "description": f"Derived from the lifecycle: {walk}, {STEP_SECONDS} s per step ({total} s).",
        "default": default,
        "steps": steps,
    }


def _required_values(lifecycle: Lifecycle, state_name: str) -> dict[str, Any]:
    """A value for each field the state requires and the engine does not fill in itself: the first
    of its allowed values, else null, which in a state that holds the field means "the mock's own
    schema-valid fake value" (mockserver.agreement): a made-up text could break the field's format."""
    state = lifecycle.states[state_name]
    automatic = set(lifecycle.timestamps.values()) | set(
        lifecycle.callback.records.values() if lifecycle.callback else ()
    )
    shown = {name for other in lifecycle.states.values() for name in other.show}
    values: dict[str, Any] = {}
    for name in sorted(state.present - automatic - shown):
        allowed = sorted(state.allowed.get(name, ()), key=str)
        values[name] = allowed[0] if allowed else None
    return values

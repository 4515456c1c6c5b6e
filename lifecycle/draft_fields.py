"""Drafting what each state holds (``comeback init``): fields that belong to a state, from their names.

A new user's resource schema usually has fields whose value depends on the state: an error text
that only a failed job has, a result URL that only a finished one has, a progress that starts at 0,
a start time that only exists once the work began, creation and update times. The mock fills them
as the lifecycle declares (``present``/``absent``/``sets`` per state, ``timestamps``; see
``mockserver.agreement``), so the draft declares them where a name makes a good guess, each guess
noted for the user to check:

- ``*error*``, ``*failure*``, ``reason``: present in the failure states, absent in the others;
- ``*output*``, ``*result*``, ``*download*``, ``*_url``: present in the success states, absent in
  the others;
- ``progress``, ``percent*``, ``*_done``, ``*_processed``: the schema's minimum in the initial state
  and (when the schema has one) its maximum in the success states;
- ``started_at``-like date-times: absent in the initial state, present in the working ones;
- ``created_at``/``updated_at``-like date-times: the lifecycle's ``created``/``updated`` timestamps.

Pure: it edits the draft's block in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from lifecycle.kinds import word_kind
from lifecycle.openapi import allows_null

CREATED_NAMES = ("created_at", "submitted_at", "requested_at", "created", "creation_time")
UPDATED_NAMES = ("updated_at", "modified_at", "last_updated_at", "last_modified_at")
STARTED_NAMES = ("started_at", "began_at", "start_time", "processing_started_at")
PROGRESS_NAMES = ("progress", "percent", "percentage", "percent_complete", "progress_percent")
NOT_RESULTS = ("callback", "webhook", "status", "self")


class Notes(Protocol):
    block: dict[str, Any]

    def note(self, key: str, text: str) -> None: ...


def add_state_fields(  # noqa: PLR0917 (the facts the draft found, each named)
    draft: Notes,
    properties: Mapping[str, Mapping[str, Any]],
    required: Sequence[str],
    taken: Sequence[str],
    shown: Mapping[str, str],
    cancel_target: str | None,
) -> None:
    """Declare the state-bound fields of ``properties`` (``taken``: already lifecycle fields;
    ``shown``: each state's status value, whose words tell success from failure; ``cancel_target``:
    the state a cancel moves to)."""
    block = draft.block
    states: dict[str, dict[str, Any]] = block["states"]
    initial = block["initial"]
    kinds = {
        name: word_kind(value) or "success" for name, value in shown.items() if states[name].get("terminal")
    }
    if cancel_target is not None:
        kinds[cancel_target] = "cancel"
    working = [name for name in states if name not in kinds]

    def nullable(name: str) -> bool:
        return allows_null(properties[name]) or name not in required

    def declare(name: str, description: str) -> None:
        block["fields"][name] = description
        for view in block["views"]:
            view["fields"][name] = f"/{name}"

    def hold(name: str, where: list[str], elsewhere: bool) -> None:
        for state, declared in states.items():
            key = "present" if state in where else "absent" if elsewhere else None
            if key is not None:
                declared.setdefault(key, []).append(name)

    for name, schema in properties.items():
        if name in taken:
            continue
        lowered = name.lower()
        date_time = schema.get("format") == "date-time"
        failures = [state for state, kind in kinds.items() if kind == "failure"]
        successes = [state for state, kind in kinds.items() if kind == "success"]
        if date_time and lowered in CREATED_NAMES + UPDATED_NAMES:
            role = "created" if lowered in CREATED_NAMES else "updated"
            if role not in block.setdefault("timestamps", {}):
                block["timestamps"][role] = name
                declare(name, f"When the {block['resource']} was {role}.")
                draft.note("timestamps", f"{name!r} is the {role} time (on the mock's clock)")
        elif date_time and lowered in STARTED_NAMES and nullable(name):
            declare(name, f"When the {block['resource']} left {initial!r}.")
            hold(name, [state for state in working if state != initial], False)
            states[initial].setdefault("absent", []).append(name)
            draft.note("states", f"{name!r}: absent while {initial}, set when the work begins")
        elif _is_error(lowered) and failures and nullable(name):
            declare(name, "Why it failed.")
            hold(name, failures, True)
            draft.note("states", f"{name!r}: only in {', '.join(failures)}")
        elif _is_result(lowered) and successes and nullable(name) and not date_time:
            declare(name, "What it produced.")
            hold(name, successes, True)
            draft.note("states", f"{name!r}: only in {', '.join(successes)}")
        elif _is_progress(lowered) and schema.get("type") in ("integer", "number"):
            declare(name, "How far the work got.")
            low, high = schema.get("minimum", 0), schema.get("maximum")
            states[initial].setdefault("sets", {})[name] = low
            for state in successes if high is not None else ():
                states[state].setdefault("sets", {})[name] = high
            done = f", {high} when {', '.join(successes)}" if high is not None else ""
            draft.note("states", f"{name!r}: {low} while {initial}{done}")


def _is_error(name: str) -> bool:
    return "error" in name or "failure" in name or name in ("reason", "fail_reason")


def _is_result(name: str) -> bool:
    if any(word in name for word in NOT_RESULTS):
        return False
    return any(word in name for word in ("output", "result", "download")) or name.endswith("_url")


def _is_progress(name: str) -> bool:
    return name in PROGRESS_NAMES or name.endswith(("_done", "_processed", "_percent"))

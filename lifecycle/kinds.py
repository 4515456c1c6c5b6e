"""How a terminal state ended: success, failure or cancel (the dashboard colours states by it).

A state's ``kind`` in ``x-lifecycle`` decides; without one, the lifecycle's own words do: the state
the cancel operation moves to is a cancel, and otherwise the state's name (or the value it shows)
is read against the word lists below, which ``comeback init`` also uses to tell the ends apart.
A terminal state that none of them names counts as a success (the usual way to end).

    >>> state_kind(lifecycle, "error"), state_kind(lifecycle, "processing")
    ('failure', None)
"""

from __future__ import annotations

from lifecycle.model import Lifecycle, StateKind

SUCCESS_WORDS = ("succeeded", "success", "successful", "completed", "complete", "done", "finished", "ready")
FAILURE_WORDS = ("failed", "failure", "error", "errored", "expired", "rejected", "timed_out", "timeout")
CANCEL_WORDS = ("cancelled", "canceled", "aborted", "stopped")


def word_kind(word: str) -> StateKind | None:
    """The kind a status word names (any case), or None."""
    lowered = word.lower()
    if lowered in FAILURE_WORDS:
        return "failure"
    if lowered in CANCEL_WORDS:
        return "cancel"
    if lowered in SUCCESS_WORDS:
        return "success"
    return None


def state_kind(lifecycle: Lifecycle, name: str) -> StateKind | None:
    """How the terminal state ``name`` ended; None for a state that is not terminal."""
    state = lifecycle.states[name]
    if not state.terminal:
        return None
    if state.kind is not None:
        return state.kind
    if lifecycle.cancel is not None and lifecycle.cancel.to == name:
        return "cancel"
    shown = [value for value in state.show.values() if isinstance(value, str)]
    for word in (name, *shown):
        found = word_kind(word)
        if found is not None:
            return found
    return "success"


def kinds(lifecycle: Lifecycle) -> dict[str, StateKind]:
    """Every terminal state's kind."""
    return {name: kind for name in lifecycle.states if (kind := state_kind(lifecycle, name)) is not None}

"""What a recorded server answered, and what a client's action did: replayed as recorded.

``comeback record`` writes two parts of a scenario that the mock replays instead of its own
behaviour:

- ``answers``: per operation about the resource (other than its create and status views), the
  status and body the server answered, and whether it then dropped the connection (Letta's stream
  answering 503 "Background streaming requires Redis ...").
- ``reactions``: what a client's ``cancel`` or ``delete`` did, from the states it was seen in: the
  answer, and the steps that followed, timed from the action (a Letta cancel gives ``cancelled``,
  then ``completed`` 2.5 s later), or that the resource was ``kept`` (a DELETE answered 500 and the
  run is still readable).

The resource's id in a recorded body is written ``${id}`` and becomes the replayed resource's id.

    >>> answer = Answer(500, {"detail": "An unknown error occurred"}, connection="drop")
    >>> substitute_id({"${id}": "cancelled"}, "run-1")
    {'run-1': 'cancelled'}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from lifecycle.steps import Step, build_step

Connection = Literal["keep", "drop"]
Action = Literal["cancel", "delete"]
ID_PLACEHOLDER = "${id}"


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer as the server sent it; ``connection: drop``: the connection was cut after it (the
    next request on it got no answer)."""

    status: int
    body: Any = None
    connection: Connection = "keep"

    def body_for(self, resource_id: str) -> Any:
        """The recorded body with ``${id}`` replaced by ``resource_id``."""
        return substitute_id(self.body, resource_id)


@dataclass(frozen=True, slots=True)
class Reaction:
    """What a client's ``action`` did to a resource in one of ``from_states`` (empty: any state).

    ``steps`` is the walk that followed, its first step entered at the action and each later one
    ``after`` the previous; None: the spec's own effect (a cancel enters the cancel state); ``()``:
    nothing changed. ``kept``: a delete that left the resource readable (it failed)."""

    action: Action
    answer: Answer
    from_states: frozenset[str] = frozenset()
    steps: tuple[Step, ...] | None = None
    kept: bool = False

    def applies(self, action: str, state: str) -> bool:
        return action == self.action and (not self.from_states or state in self.from_states)


def parse_answer(raw: Mapping[str, Any]) -> Answer:
    """An ``Answer`` from a schema-valid mapping."""
    return Answer(int(raw["status"]), raw.get("body"), raw.get("connection", "keep"))


def parse_answers(raw: Mapping[str, Any]) -> dict[str, Answer]:
    return {operation: parse_answer(answer) for operation, answer in raw.items()}


def parse_reactions(raw: Iterable[Mapping[str, Any]], aliases: Mapping[str, str]) -> tuple[Reaction, ...]:
    """``Reaction`` values from schema-valid mappings; states may be named as the API shows them."""
    return tuple(
        Reaction(
            action=item["action"],
            answer=parse_answer(item["answer"]),
            from_states=frozenset(aliases.get(state, state) for state in item.get("from", ())),
            steps=tuple(build_step(step, aliases) for step in item["steps"]) if "steps" in item else None,
            kept=item.get("resource") == "kept",
        )
        for item in raw
    )


def reaction_for(reactions: Iterable[Reaction], action: str, state: str) -> Reaction | None:
    """The first recorded reaction to ``action`` in ``state``, if any."""
    return next((reaction for reaction in reactions if reaction.applies(action, state)), None)


def substitute_id(value: Any, resource_id: str) -> Any:
    """``value`` with every ``${id}`` in its strings and keys replaced by ``resource_id``."""
    return _replace(value, ID_PLACEHOLDER, resource_id)


def mark_id(value: Any, resource_id: str) -> Any:
    """The reverse of ``substitute_id``: a recorded body with the resource's id written ``${id}``."""
    return _replace(value, resource_id, ID_PLACEHOLDER) if resource_id else value


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new) if old in value else value
    if isinstance(value, list):
        return [_replace(item, old, new) for item in value]
    if isinstance(value, dict):
        return {_replace(key, old, new): _replace(item, old, new) for key, item in value.items()}
    return value

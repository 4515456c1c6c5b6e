"""Rules a spec states that the lifecycle's structure does not already say, as data.

Each rule of ``x-lifecycle.rules`` has an id, a kind, where it is ``stated`` and the parameters of
its kind. The contract kit has one live check per kind (``contracts.rules``); ``comeback lint
--coverage`` lists every rule with the check that judges it.

    >>> rule = build_rule({"id": "usage-total", "kind": "sum", "stated": "decision L-A15",
    ...                    "operation": "retrieveUsageForRun", "with_id": "$request.path.run_id",
    ...                    "total": "/total_tokens", "parts": ["/prompt_tokens", "/completion_tokens"]})
    >>> rule.parts
    ('/prompt_tokens', '/completion_tokens')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

RuleKind = Literal[
    "stream-token", "view-agrees-with-stream", "list-contains-reply", "sum", "same-in-views", "unchecked"
]
RULE_KINDS: tuple[RuleKind, ...] = get_args(RuleKind)

Position = Literal["first", "any"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One stated rule. Parameters a kind does not use keep their defaults.

    ``operation``/``with_id``: the call that shows what the rule is about (list-contains-reply, sum);
    ``items``/``match``/``same_id``/``position``: the list and the reply item in it (``unless_signals``:
    stream ends after which no reply is stored); ``total`` and
    ``parts``: the pointers of a sum; ``fields``/``views``: logical fields equal across views;
    ``view``/``margin_seconds``: the status view compared with the stream; ``when``: the terminal
    states in which the rule holds (empty: all); ``decision``: why an unchecked rule is unchecked."""

    id: str
    kind: RuleKind
    stated: str
    operation: str | None = None
    with_id: str | None = None
    items: str = ""
    match: Mapping[str, Any] = field(default_factory=dict)
    same_id: str | None = None
    position: Position = "any"
    unless_signals: tuple[str, ...] = ()
    total: str = ""
    parts: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    view: str | None = None
    margin_seconds: float = 0.5
    when: frozenset[str] = frozenset()
    decision: str | None = None


def build_rule(raw: Mapping[str, Any]) -> Rule:
    """A ``Rule`` from one item of ``x-lifecycle.rules`` already valid against the JSON Schema."""
    return Rule(
        id=raw["id"],
        kind=raw["kind"],
        stated=raw["stated"],
        operation=raw.get("operation"),
        with_id=raw.get("with_id"),
        items=raw.get("items", ""),
        match=dict(raw.get("match", {})),
        same_id=raw.get("same_id"),
        position=raw.get("position", "any"),
        unless_signals=tuple(raw.get("unless_stream_ends_with", ())),
        total=raw.get("total", ""),
        parts=tuple(raw.get("parts", ())),
        fields=tuple(raw.get("fields", ())),
        views=tuple(raw.get("views", ())),
        view=raw.get("view"),
        margin_seconds=float(raw.get("margin_seconds", 0.5)),
        when=frozenset(raw.get("when", ())),
        decision=raw.get("decision"),
    )

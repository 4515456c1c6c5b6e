"""Pure judgments of the stated rules on what a live run observed: bodies, frames, values.

``contracts.rules`` makes the calls; these functions say what is wrong (None when the rule holds).
"""

from __future__ import annotations

from typing import Any

from contracts.observe import parse_time
from lifecycle.expressions import resolve_pointer
from lifecycle.model import Stream
from lifecycle.rules import Rule


def sum_problem(rule: Rule, body: Any) -> str | None:
    """What is wrong with a sum rule in ``body``: None when it holds, "not observed: ..." when a
    number is absent."""
    values = {p: resolve_pointer(body, p) for p in (rule.total, *rule.parts)}
    missing = [p for p, v in values.items() if v is None]
    if missing:
        return f"not observed: the answer of {rule.operation} has no {', '.join(missing)}"
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values.values()):
        return f"expected numbers at {', '.join(values)}; got {values}"
    parts = [values[p] for p in rule.parts]
    if values[rule.total] != sum(parts):
        shown = " + ".join(f"{p} {values[p]}" for p in rule.parts)
        return (
            f"expected {rule.total} = {' + '.join(rule.parts)}; got {values[rule.total]}, "
            f"but {shown} = {sum(parts)}"
        )
    return None


def list_problem(rule: Rule, body: Any, resource_id: str, state: str | None) -> str | None:
    """What is wrong with a list rule in ``body`` (None: the reply is listed where it should be)."""
    items = resolve_pointer(body, rule.items)
    if not isinstance(items, list):
        return f"expected an array at {rule.items or 'the top'} of {rule.operation}; got {short(items)}"

    def is_reply(item: Any) -> bool:
        if any(resolve_pointer(item, p) != value for p, value in rule.match.items()):
            return False
        return rule.same_id is None or str(resolve_pointer(item, rule.same_id)) == resource_id

    wanted = (
        ", ".join(
            [*(f"{p} = {v!r}" for p, v in rule.match.items())]
            + ([f"{rule.same_id} = {resource_id!r}"] if rule.same_id else [])
        )
        or "an item"
    )
    if rule.position == "first":
        if items and is_reply(items[0]):
            return None
        return (
            f"once {state!r}, expected the first item of {rule.operation} to be the reply ({wanted}); "
            f"it listed {len(items)} item(s), first {short(items[0]) if items else 'none'}"
        )
    if any(is_reply(item) for item in items):
        return None
    return (
        f"once {state!r}, expected {rule.operation} to list the reply ({wanted}); "
        f"it listed {len(items)} item(s): {short(items)}"
    )


def is_content(stream: Stream, frame: Any) -> bool:
    """A frame that carries the reply: not a keep-alive, a control literal or an end signal."""
    signals = [*stream.terminal_signals, *stream.error_signals, "call_again"]
    if stream.keepalive and (frame.event == stream.keepalive or f'"{stream.keepalive}"' in frame.data):
        return False
    if stream.framing == "event-and-data":
        return frame.event not in signals
    return not (frame.data in signals or any(s.endswith(":") and frame.data.startswith(s) for s in signals))


def all_same(values: list[Any]) -> bool:
    """Equal values, or timestamps of the same moment (offset-less read as UTC)."""
    first = values[0]
    for value in values[1:]:
        if value == first:
            continue
        a, _ = parse_time(first)
        b, _ = parse_time(value)
        if a is None or b is None or a.replace(tzinfo=None) != b.replace(tzinfo=None):
            return False
    return True


def put(document: Any, pointer: str, value: Any) -> Any:
    """A copy of ``document`` with ``value`` at ``pointer`` (objects along the way created)."""
    if not pointer:
        return value
    head, _, rest = pointer.lstrip("/").partition("/")
    copy = dict(document) if isinstance(document, dict) else {}
    copy[head] = put(copy.get(head), "/" + rest if rest else "", value)
    return copy


def short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 160 else text[:157] + "..."

"""Keyword-level schema rules: the markers of a merged node, how one keyword of two allOf parts merges,
JSON types of values, and the arithmetic of numeric bounds and multipleOf."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from lifecycle.errors import ComebackError

CHECK: Final = "x-fake-check"  # merged node: schemas that could not be merged, validated after generation
PENDING: Final = "x-fake-pending"  # merged node: extra anyOf/oneOf groups, resolved one branch at a time
UNSAT: Final = "x-fake-unsatisfiable"  # merged node: the merge proved no value exists (e.g. disjoint types)

SCALARS: Final = frozenset({"string", "number", "integer", "boolean", "null"})
ALL_TYPES: Final = ("string", "number", "integer", "boolean", "object", "array", "null")
_LOWER_BOUNDS: Final = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"})
_UPPER_BOUNDS: Final = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"})
_SUBSCHEMA_KEYS: Final = frozenset({"items", "contains", "propertyNames", "unevaluatedItems"})


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class Conflict(ComebackError):
    """Two schemas that no value satisfies together."""


def merge_keyword(key: str, ours: Any, theirs: Any) -> tuple[str, Any]:
    """Merge one keyword present (with different values) in both schemas of an allOf.

    Returns ("set", value), or ("pending", group) for a second anyOf/oneOf resolved later, or ("check",
    schema) for a keyword that is kept as is and validated after generation; raises Conflict.
    """
    if key == "type":
        mine = {ours} if isinstance(ours, str) else set(ours)
        other = {theirs} if isinstance(theirs, str) else set(theirs)
        for types in (mine, other):
            if "number" in types:
                types.add("integer")
        both = [t for t in ALL_TYPES if t in mine and t in other]
        if not both:
            raise Conflict
        return "set", both
    if key == "enum":
        common = [item for item in ours if item in theirs]
        if not common:
            raise Conflict
        return "set", common
    if key == "const":
        raise Conflict
    plain_numbers = not isinstance(ours, bool) and not isinstance(theirs, bool)
    if key in _LOWER_BOUNDS and plain_numbers:
        return "set", max(ours, theirs)
    if key in _UPPER_BOUNDS and plain_numbers:
        return "set", min(ours, theirs)
    if key == "uniqueItems":
        return "set", bool(ours or theirs)
    if key == "multipleOf" and isinstance(ours, int) and isinstance(theirs, int):
        return "set", math.lcm(ours, theirs)
    if key in _SUBSCHEMA_KEYS:
        return "set", False if ours is False or theirs is False else {"allOf": [ours, theirs]}
    if key == "not":
        return "set", {"anyOf": [ours, theirs]}  # not A and not B == not (A or B)
    if key == "prefixItems":
        longer, shorter = (ours, theirs) if len(ours) >= len(theirs) else (theirs, ours)
        return "set", [
            {"allOf": [item, shorter[i]]} if i < len(shorter) else item for i, item in enumerate(longer)
        ]
    if key in ("anyOf", "oneOf"):
        return "pending", {key: theirs}
    if key == "dependentRequired":
        return "set", {**ours, **{k: sorted({*ours.get(k, ()), *v}) for k, v in theirs.items()}}
    return "check", {key: theirs}  # pattern, format, float multipleOf, if/then/else, ...


def bound(node: Mapping[str, Any], inclusive: str, exclusive: str, *, lower: bool) -> tuple[Any, bool]:
    """The tighter of an inclusive and an exclusive bound, and whether that bound is exclusive."""
    closed = node.get(inclusive)
    opened = node.get(exclusive)
    if isinstance(opened, bool):  # OpenAPI 3.0 style: `exclusiveMinimum: true` qualifies `minimum`
        opened, closed = (closed if opened else None), (None if opened else closed)
    if opened is None:
        return closed, False
    if closed is None:
        return opened, True
    if (opened >= closed) if lower else (opened <= closed):
        return opened, True
    return closed, False


def multiple(
    step: float,
    low: float,
    high: float,
    rng: random.Random,
    *,
    integer: bool,
    open_ends: tuple[bool, bool] = (False, False),
) -> Any:
    """A multiple of `step` inside the bounds that passes jsonschema's own multipleOf arithmetic."""
    first = math.ceil(low / step)
    last = math.floor(high / step)
    if last < first:
        return first * step
    candidates = [rng.randint(first, last) for _ in range(8)] + list(range(first, min(last, first + 8) + 1))
    for k in candidates:
        if isinstance(step, int) or integer:
            value: Any = k * step
            if integer and isinstance(value, float):
                if not value.is_integer():
                    continue
                value = int(value)
        else:
            value = float(Decimal(k) * Decimal(repr(step)))
        if (open_ends[0] and value <= low) or (open_ends[1] and value >= high) or not low <= value <= high:
            continue
        if isinstance(step, float) and not (value / step).is_integer():
            continue
        return value
    return first * step

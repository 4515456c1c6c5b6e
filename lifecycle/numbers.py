"""Every number in a scenario finite and in range, so that no later sum, schedule or JSON answer
can fail on it.

YAML reads ``.nan`` and ``.inf`` as numbers and the JSON Schema lets them through (``NaN >= 0`` is
not false in the schema's sense: NaN fails every comparison, so ``minimum`` never objects). A
stored ``after: .inf`` broke every listing of the mock afterwards; these checks refuse it at load.

    >>> number_findings(document)  # doctest: +SKIP
    [Finding('s.yaml', 4, '/steps/1/after', 'not a finite number', ...)]
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from lifecycle.durations import parse_duration
from lifecycle.findings import Finding, join
from lifecycle.source import Document

MAX_TIMELINE_SECONDS = 366 * 86_400  # the steps' ``after`` together: a year, as one clock advance
MAX_COUNT = 1_000_000  # after_reads, call_again_after: far more than any test makes
TOKENS_PER_SECOND = (0.001, 1_000_000.0)  # slower than one token in 17 minutes is a stall, not a pace


def number_findings(document: Document) -> list[Finding]:
    """Non-finite numbers anywhere, then the ranges of a schema-valid scenario's timings and counts."""
    data = document.data
    findings = [
        document.finding(
            pointer,
            "not a finite number",
            found=repr(value),
            expected="a finite number (JSON has no NaN or Infinity)",
        )
        for pointer, value in _non_finite(data)
    ]
    total = 0.0
    for index, raw in enumerate(data["steps"]):
        pointer = f"/steps/{index}"
        after = raw.get("after")
        if after is not None and not (isinstance(after, float) and not math.isfinite(after)):  # said above
            try:
                total += parse_duration(after)
            except ValueError as error:
                findings.append(document.finding(f"{pointer}/after", f"unusable duration: {error}"))
            else:
                if total > MAX_TIMELINE_SECONDS:
                    findings.append(
                        document.finding(
                            f"{pointer}/after",
                            "the steps take too long",
                            found=f"{total:g} s from creation to this step",
                            expected=f"at most {MAX_TIMELINE_SECONDS} s (366 days) in all",
                        )
                    )
                    total = -math.inf  # said once
        findings.extend(_count(document, f"{pointer}/after_reads", raw.get("after_reads")))
        stream = raw.get("stream", {})
        findings.extend(
            _count(document, f"{pointer}/stream/call_again_after", stream.get("call_again_after"))
        )
        pace = stream.get("tokens_per_second")
        low, high = TOKENS_PER_SECOND
        if isinstance(pace, int | float) and math.isfinite(pace) and not low <= pace <= high:
            findings.append(
                document.finding(
                    f"{pointer}/stream/tokens_per_second",
                    "pace out of range",
                    found=repr(pace),
                    expected=f"from {low:g} to {high:g} tokens per second",
                )
            )
    return findings


def _count(document: Document, pointer: str, value: Any) -> list[Finding]:
    if isinstance(value, int) and value > MAX_COUNT:
        return [
            document.finding(
                pointer, "count out of range", found=repr(value), expected=f"at most {MAX_COUNT}"
            )
        ]
    return []


def _non_finite(data: Any) -> Iterator[tuple[str, float]]:
    """(pointer, value) of every NaN or infinity inside ``data``, each shared value once."""
    seen: set[int] = set()
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            yield pointer, value
        elif isinstance(value, Mapping | list | tuple) and id(value) not in seen:
            seen.add(id(value))
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            stack.extend((join(pointer, key), item) for key, item in items)

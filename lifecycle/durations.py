"""Durations as scenario files and headers write them: seconds, or ``250ms``, ``1.5s``, ``2m``."""

from __future__ import annotations

import re

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def parse_duration(value: float | str) -> float:
    """Seconds from a number or a string such as ``250ms``, ``1.5s``, ``2m``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value).strip())
    if match is None:
        raise ValueError(f"not a duration: {value!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]

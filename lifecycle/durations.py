"""Durations as scenario files and headers write them: seconds, or ``250ms``, ``1.5s``, ``2m``."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0}


def parse_duration(value: float | str) -> float:
    """Seconds from a number or a string such as ``250ms``, ``1.5s``, ``2m``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = _float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if match is None:
            raise ValueError(f"not a duration: {value!r}")
        seconds = _float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"not a finite duration of 0 or more: {value!r}")
    return seconds


def _float(value: float | str) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for a float: as unusable as infinity
        return math.inf

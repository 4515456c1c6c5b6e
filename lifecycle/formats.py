"""Values as a server writes them: the text format of its timestamps, recorded and replayed.

Real servers differ in how they write the same moment: ``2025-11-21T02:03:21.306721Z``,
``...306721+00:00``, or with no offset at all (Letta's ``completed_at``, the spec's
``naive-completed-at`` deviation). ``comeback record`` writes the format of each timestamp field it
saw under the scenario's ``formats:``; the mock writes that field the same way.

    >>> detect("2025-11-21T02:03:21.306721")
    TimestampFormat(offset='none', digits=6)
    >>> TimestampFormat("+00:00", 3).write("2025-11-21T02:03:21.306721Z")
    '2025-11-21T02:03:21.306+00:00'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Offset = Literal["Z", "+00:00", "none"]
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|z|[+-]\d\d:\d\d)?$")


@dataclass(frozen=True, slots=True)
class TimestampFormat:
    """How one field writes a UTC moment: its offset (``none``: tz-naive) and fraction digits."""

    offset: Offset = "Z"
    digits: int = 6

    def write(self, text: str) -> str:
        """``text`` (a timestamp as the mock renders it) in this format; other text as it is."""
        found = _STAMP.match(text)
        if found is None:
            return text
        whole, fraction = found.group(1), (found.group(2) or "")
        shown = f".{fraction[: self.digits].ljust(self.digits, '0')}" if self.digits else ""
        return whole + shown + ("" if self.offset == "none" else self.offset)


def detect(text: Any) -> TimestampFormat | None:
    """The format of a timestamp as a server wrote it, or None when ``text`` is not a timestamp."""
    found = _STAMP.match(text) if isinstance(text, str) else None
    if found is None:
        return None
    offset = found.group(3)
    shown: Offset = "none" if offset is None else "Z" if offset in ("Z", "z") else "+00:00"
    return TimestampFormat(shown, len(found.group(2) or ""))


def parse_formats(raw: Mapping[str, Any]) -> dict[str, TimestampFormat]:
    """``formats:`` of a schema-valid scenario: logical field -> its timestamp format."""
    return {
        name: TimestampFormat(item.get("offset", "Z"), int(item.get("digits", 6)))
        for name, item in raw.items()
    }


def format_data(found: TimestampFormat) -> dict[str, Any]:
    """The ``formats:`` entry of one field, as the scenario file writes it."""
    return {"offset": found.offset, "digits": found.digits}


def apply_formats(values: dict[str, Any], formats: Mapping[str, TimestampFormat]) -> None:
    """Write each timestamp in ``values`` (logical field -> value) in its recorded format."""
    for name, found in formats.items():
        value = values.get(name)
        if isinstance(value, str):
            values[name] = found.write(value)

"""The request journal: what clients asked, in order, bounded in size."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class JournalEntry:
    method: str
    path: str
    query: str
    status: int
    api: str | None
    operation: str | None
    resource_id: str | None
    scenario: str | None
    time: float  # the mock clock's reading when the request arrived
    latency_ms: float
    headers: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Journal:
    def __init__(self, size: int) -> None:
        self._entries: deque[JournalEntry] = deque(maxlen=size)
        self.on_record: Callable[[JournalEntry], None] | None = None  # the dashboard's live feed

    def record(self, entry: JournalEntry) -> None:
        self._entries.append(entry)
        if self.on_record is not None:
            self.on_record(entry)

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[JournalEntry]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()

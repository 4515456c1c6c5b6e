"""What the Redis store writes, as bytes, and how a resource is rebuilt from it.

A resource is one hash: ``record`` (JSON, written once at create: api, id, namespace, scope, the
scenario as written, the request body, created_at and the vendor data known at create) and one
field per vendor value set later (``x:NAME``: edits, metadata, fault counts, the callback's
outcome). Its commands are a list of JSON objects (``state.replay``), its read counts a hash of
history entry -> reads. Journal entries are JSON arrays of their fields, cleaned (masked and cut)
before they are written.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from lifecycle.scenario import scenario_to_data
from mockserver.journal import JournalEntry
from mockserver.store import Resource

EXTRA = b"x:"


def dumps(value: Any) -> bytes:
    """Compact JSON; sets (e.g. ``naive_fields``) become sorted lists."""
    return json.dumps(value, separators=(",", ":"), default=_plain).encode()


def _plain(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not kept by the shared store")


def record_of(resource: Resource) -> bytes:
    """The immutable part of ``resource``, written once at create."""
    scenario = resource.timeline.scenario
    return dumps(
        {
            "namespace": resource.namespace,
            "api": resource.api,
            "id": resource.id,
            "scope": dict(resource.scope),
            "scenario": scenario.name,
            "scenario_data": scenario_to_data(scenario),
            "source": scenario.source,
            "request": resource.request,
            "created_at": resource.created_at,
        }
    )


def extras_of(fields: Mapping[bytes, bytes]) -> dict[str, Any]:
    """The vendor values of a resource hash (``x:NAME`` fields)."""
    return {
        name[len(EXTRA) :].decode(): json.loads(value)
        for name, value in fields.items()
        if name.startswith(EXTRA)
    }


def commands_of(items: Sequence[bytes]) -> list[dict[str, Any]]:
    return [json.loads(item) for item in items]


def reads_of(fields: Mapping[bytes, bytes]) -> dict[int, int]:
    return {int(entry): int(count) for entry, count in fields.items()}


# every field but ``cleaned``: what is written is cleaned already
_ENTRY_FIELDS = tuple(name for name in JournalEntry.__dataclass_fields__ if name != "cleaned")


def entry_to_bytes(entry: JournalEntry) -> bytes:
    return dumps([getattr(entry, name) for name in _ENTRY_FIELDS])


def entry_from_bytes(data: bytes) -> JournalEntry:
    return JournalEntry(**dict(zip(_ENTRY_FIELDS, json.loads(data), strict=True)), cleaned=True)

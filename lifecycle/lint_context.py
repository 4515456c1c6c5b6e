"""What the parts of the ``x-lifecycle`` lint share: the document, the model, the operations, and
how to add a located finding (``lint_lifecycle.LifecycleChecks`` is the one implementation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from lifecycle.findings import Finding
from lifecycle.model import Lifecycle
from lifecycle.openapi import Operation
from lifecycle.source import Document


class LintContext(Protocol):
    """The lint of one schema-valid ``x-lifecycle`` block, as its parts (views, rules) see it."""

    document: Document
    lifecycle: Lifecycle
    ops: Mapping[str, Operation]
    findings: list[Finding]

    def add(self, pointer: str, message: str, **details: str | None) -> None:
        """A finding at ``pointer`` inside ``x-lifecycle``."""

    def expression(self, pointer: str, operation: Operation, text: str, items: str | None = None) -> None:
        """A finding when runtime expression ``text`` names nothing ``operation`` has."""

    def success_schema(self, operation: Operation) -> tuple[Mapping[str, Any], str] | None:
        """The schema (and pointer) of ``operation``'s JSON success answer."""

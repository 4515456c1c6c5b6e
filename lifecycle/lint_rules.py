"""Consistency of the ``rules`` of a schema-valid ``x-lifecycle`` block with the rest of the spec.

Every rule names things that exist: the operations it calls (and where they take the resource
id), the pointers it reads in their 200 answers, the views and logical fields it compares, the
terminal states it holds in, the stream (and its token) it watches, and the decision that says why
an unchecked rule is unchecked. Messages are located and suggest the nearest valid name, like the
rest of lint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lifecycle.findings import closest, one_of
from lifecycle.lint_context import LintContext
from lifecycle.openapi import subschemas_at
from lifecycle.rules import Rule


def rule_findings(checks: LintContext) -> None:
    """Add a finding to ``checks`` for every rule that names something the spec lacks."""
    seen: set[str] = set()
    for index, rule in enumerate(checks.lifecycle.rules):
        at = f"rules/{index}"
        if rule.id in seen:
            checks.add(f"{at}/id", "rule id used twice", found=repr(rule.id), expected="a unique id")
        seen.add(rule.id)
        _RuleCheck(checks, rule, at).run()


class _RuleCheck:
    def __init__(self, checks: LintContext, rule: Rule, at: str) -> None:
        self.checks = checks
        self.lifecycle = checks.lifecycle
        self.rule = rule
        self.at = at

    def run(self) -> None:
        kind = self.rule.kind
        if kind in ("stream-token", "view-agrees-with-stream"):
            self._stream()
        if kind in ("list-contains-reply", "sum"):
            self._call()
        if self.rule.unless_signals:
            self._signals()
        if kind == "same-in-views":
            self._views()
        if kind == "unchecked":
            self._decision()
        self._states()

    def _stream(self) -> None:
        stream = self.lifecycle.stream
        if stream is None:
            self.checks.add(
                f"{self.at}/kind", "the lifecycle declares no stream", expected="x-lifecycle.stream"
            )
        elif self.rule.kind == "stream-token" and stream.token is None:
            self.checks.add(
                f"{self.at}/kind",
                "the stream takes no token",
                expected="x-lifecycle.stream.token (its lifetime, single use and statuses)",
            )
        if self.rule.view is not None:
            readers = [v.operation for v in self.lifecycle.views if v.id is not None and v.items is None]
            if self.rule.view not in readers:
                self._unknown("view", "not a view that reads one resource by id", self.rule.view, readers)

    def _signals(self) -> None:
        stream = self.lifecycle.stream
        if stream is None:
            self._stream()
            return
        known = [*stream.terminal_signals, *stream.error_signals]
        for index, signal in enumerate(self.rule.unless_signals):
            if signal not in known:
                self._unknown(
                    f"unless_stream_ends_with/{index}",
                    "not a terminal or error signal of the stream",
                    signal,
                    known,
                )

    def _call(self) -> None:
        rule, checks = self.rule, self.checks
        operation = checks.ops.get(rule.operation or "")
        if operation is None:
            checks.add(
                f"{self.at}/operation",
                "unknown operation",
                found=repr(rule.operation),
                expected="an operationId of this spec",
                suggestion=closest(rule.operation or "", checks.ops),
            )
            return
        if rule.with_id is not None:
            checks.expression(f"{self.at}/with_id", operation, rule.with_id)
        located = checks.success_schema(operation)
        if located is None:
            checks.add(f"{self.at}/operation", f"{operation.operation_id!r} has no JSON success answer")
            return
        schema, pointer = located
        data = checks.document.data
        if rule.kind == "sum":
            for key, field_pointer in [
                ("total", rule.total),
                *((f"parts/{i}", p) for i, p in enumerate(rule.parts)),
            ]:
                if not subschemas_at(data, schema, pointer, field_pointer):
                    self._missing(key, field_pointer, "200 answer")
            return
        arrays = [n for n, _ in subschemas_at(data, schema, pointer, rule.items) if "items" in n]
        if not arrays:
            checks.add(
                f"{self.at}/items",
                f"the 200 answer of {operation.operation_id!r} has no array here",
                found=repr(rule.items),
                expected="a pointer to an array of items",
            )
            return
        item = f"{rule.items}/0"
        wanted = [("match", p) for p in rule.match]
        if rule.same_id is not None:
            wanted.append(("same_id", rule.same_id))
        for key, field_pointer in wanted:
            if not _declared_or_open(data, schema, pointer, item + field_pointer):
                self._missing(key, field_pointer, "list items")

    def _missing(self, key: str, field_pointer: str, where: str) -> None:
        self.checks.add(
            f"{self.at}/{key}",
            f"no such field in the {where} of {self.rule.operation!r}",
            found=repr(field_pointer),
        )

    def _views(self) -> None:
        views = {v.operation: v for v in reversed(self.lifecycle.views)}  # the first view of each
        fields = self.lifecycle.fields
        for index, name in enumerate(self.rule.views):
            view = views.get(name)
            if view is None:
                self._unknown(f"views/{index}", "not a view of the lifecycle", name, views)
                continue
            for position, field in enumerate(self.rule.fields):
                if field in fields and field not in view.fields:
                    self.checks.add(
                        f"{self.at}/fields/{position}",
                        f"the view of {name!r} does not map this field",
                        found=repr(field),
                        expected=one_of(view.fields),
                    )
        for position, field in enumerate(self.rule.fields):
            if field not in fields:
                self._unknown(f"fields/{position}", "unknown logical field", field, fields)

    def _decision(self) -> None:
        known = [d.ambiguity for d in self.lifecycle.decisions]
        if self.rule.decision not in known:
            self._unknown(
                "decision",
                "no decision of that ambiguity says why the rule is unchecked",
                self.rule.decision,
                known,
            )

    def _unknown(self, key: str, message: str, name: str | None, known: Iterable[str]) -> None:
        """A located finding for a name that is none of ``known``, with the nearest one."""
        known = sorted(known)
        self.checks.add(
            f"{self.at}/{key}",
            message,
            found=repr(name),
            expected=one_of(known),
            suggestion=closest(name or "", known),
        )

    def _states(self) -> None:
        terminal = self.lifecycle.terminal_states
        for state in sorted(self.rule.when):
            if state not in terminal:
                self._unknown("when", "not a terminal state", state, terminal)


def _declared_or_open(data: Mapping[str, Any], schema: Mapping[str, Any], pointer: str, field: str) -> bool:
    """Whether the schema declares ``field``, or leaves the object holding it open (items the vendor
    documents only as ``{}``)."""
    if subschemas_at(data, schema, pointer, field):
        return True
    parent = field.rsplit("/", 1)[0]
    return any(
        "properties" not in node and node.get("additionalProperties") is not False
        for node, _ in subschemas_at(data, schema, pointer, parent)
    )

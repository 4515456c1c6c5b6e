"""The paging probe: walk every list the spec pages, with small pages, in each documented order.

A list operation is paged when its spec documents a cursor (``after``/``before``,
``starting_after``/``ending_before``) or a page number (``page``), with a page size (``limit``,
``take``, ...). For each such list and each value of its ``order`` parameter (one walk when it has
none) the probe walks to the end with pages of 1 and of 2 items (larger on a long list, so a walk
takes at most ``MAX_PAGES`` pages), sending the last item's id as the
``after`` cursor (or the next page number), exactly as an SDK's auto-pagination does, and checks:

paging.after   the walk ends, never repeats an item, sees every item created for it (the kit's own
               resources of one scope) in the documented order: what ``after`` (or ``page``) means
paging.before  ``before=<an item of the walk>`` gives exactly the items that precede it in the walk

A failure names the cursor sent, the items that came back, and what an auto-paginating SDK does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from contracts.report import Report
from contracts.requests import Created, Requests
from contracts.target import Exchange, Target
from lifecycle.model import Lifecycle
from lifecycle.openapi import Operation, deref


class Probes(Protocol):
    """What the pager needs of ``contracts.probes.Probes`` (a seam: no import circle)."""

    requests: Requests
    lifecycle: Lifecycle
    target: Target
    report: Report

    def checking(self, check: str, unit: str = "") -> AbstractContextManager[None]: ...

    def violation(
        self,
        check: str,
        message: str,
        made: Created | None,
        *,
        unit: str = "",
        exchanges: tuple[Exchange, ...] | None = None,
    ) -> None: ...


AFTER = ("after", "starting_after")
BEFORE = ("before", "ending_before")
PAGE = ("page", "page_number")
SIZE = ("limit", "take", "page_size", "per_page", "size")
SIZES = (1, 2)  # small pages: an off-by-one in a cursor shows with either
MAX_PAGES = 20  # a longer list is walked with larger pages
WALKED = 3  # resources the walk of a list of the kit's own resources expects to see


@dataclass(frozen=True, slots=True)
class Paged:
    """A list operation and the names of its paging parameters."""

    operation: Operation
    size: str
    after: str | None
    before: str | None
    page: str | None
    orders: tuple[str | None, ...]
    order_name: str | None

    def label(self, order: str | None) -> str:
        shown = f"{self.operation.method.upper()} {self.operation.path}"
        return shown + (f" ({self.order_name}={order})" if order is not None else "")


def paged_operations(document: Mapping[str, Any], operations: Mapping[str, Operation]) -> list[Paged]:
    """Every GET whose spec documents a page size and a cursor or page number."""
    found = []
    for operation in operations.values():
        if operation.method != "get":
            continue
        names = {str(p.get("name")): p for p in operation.parameters if p.get("in") == "query"}
        size = next((n for n in SIZE if n in names), None)
        after = next((n for n in AFTER if n in names), None)
        page = next((n for n in PAGE if n in names), None)
        if size is None or (after is None and page is None):
            continue
        order = names.get("order")
        values = deref(document, order.get("schema") or {}).get("enum") if order else None
        orders: tuple[str | None, ...] = tuple(map(str, values)) if values else (None,)
        before = next((n for n in BEFORE if n in names), None)
        found.append(
            Paged(
                operation, size, after, before if after else None, page, orders, "order" if values else None
            )
        )
    return found


def item_id(item: Any) -> str:
    """What tells two items apart: their id, else the whole item."""
    if isinstance(item, Mapping) and isinstance(item.get("id"), str | int):
        return str(item["id"])
    return json.dumps(item, sort_keys=True, default=str)


def items_of(body: Any) -> list[Any] | None:
    """The items of a page: a bare array, or the one array member of an object (``data``...)."""
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping):
        arrays = [value for value in body.values() if isinstance(value, list)]
        if len(arrays) == 1:
            return arrays[0]
    return None


@dataclass
class _Walk:
    """One walk: the pages asked for and what came back."""

    seen: list[str]
    pages: list[tuple[dict[str, Any], list[str]]]
    problem: str = ""


class Pager:
    """Walks the lists of one spec on the target, for ``Probes.paging_probe``."""

    def __init__(self, probes: Probes) -> None:
        self.probes = probes
        self.requests = probes.requests
        spec = probes.requests.spec
        self.paged = paged_operations(spec.data, spec.operations)
        self.own = {
            view.operation
            for view in probes.lifecycle.views
            if view.items is not None and view.operation in spec.operations
        }

    def run(self, made: list[Created]) -> None:
        report = self.probes.report
        for paged in self.paged:
            for order in paged.orders:
                report.expect("paging.after", paged.label(order))
                if paged.before:
                    report.expect("paging.before", paged.label(order))
        if not made:
            return
        for paged in self.paged:
            for order in paged.orders:
                with self.probes.checking("paging.after", paged.label(order)):
                    self._list(paged, order, made)

    def _list(self, paged: Paged, order: str | None, made: list[Created]) -> None:
        label = paged.label(order)
        report = self.probes.report
        first = made[0]
        own = paged.operation.operation_id in self.own
        expected = [m.id for m in made if m.scope == first.scope] if own else []
        base = self._query(paged, first, order)
        if base is None:
            reason = f"a required parameter of {paged.operation.operation_id} has no value (--param)"
            report.not_observed("paging.after", label, reason=reason)
            report.not_observed("paging.before", label, reason=reason)
            return
        path, query = base
        start = len(self.probes.target.log)
        largest = self._largest(paged)
        status, body = self._get(path, {**query, paged.size: largest})
        full = items_of(body) if status == 200 else None
        if full is None:
            reason = f"the unpaged list answered {status}, not a list"
            report.not_observed("paging.after", label, reason=reason)
            report.not_observed("paging.before", label, reason=reason)
            return
        everything = [item_id(item) for item in full]
        if len(everything) >= largest:
            reason = f"the list holds {largest} items or more (its largest page): too long to walk"
            report.not_observed("paging.after", label, reason=reason)
            report.not_observed("paging.before", label, reason=reason)
            return
        # pages of 1 and 2, or as many items as keep a walk within MAX_PAGES pages on a long list
        step = max(1, -(-len(everything) // MAX_PAGES))
        walks = [
            self._walk(paged, path, query, step * size, len(everything) // (step * size) + 3)
            for size in SIZES
        ]
        problem = next((w.problem for w in walks if w.problem), "")
        if not problem and own:
            problem = _completeness(walks[0], expected, order)
        if problem:
            walked = tuple(self.probes.target.log[start:])
            self.probes.violation("paging.after", problem, first, unit=label, exchanges=walked)
        elif len(everything) < 2 and not expected:
            report.not_observed("paging.after", label, reason=f"{len(everything)} item(s): nothing to page")
        else:
            report.passed("paging.after", label)
        if paged.before:
            with self.probes.checking("paging.before", label):
                self._before(paged, (path, query), walks[0], label, first)

    def _query(self, paged: Paged, made: Created, order: str | None) -> tuple[str, dict[str, Any]] | None:
        operation = paged.operation
        name = self.requests.lifecycle.id_name
        in_path = name is not None and "{" + name + "}" in operation.path
        try:
            _, path, query, _ = self.requests.prepare(
                operation.operation_id, made, id_expression=f"$request.path.{name}" if in_path else None
            )
        except KeyError:
            return None
        if "{" in path:
            return None
        for parameter in operation.parameters:
            parameter_name = str(parameter.get("name"))
            if parameter.get("in") == "query" and parameter_name in made.scope:
                query[parameter_name] = made.scope[parameter_name]
        if order is not None and paged.order_name:
            query[paged.order_name] = order
        return path, query

    def _largest(self, paged: Paged) -> int:
        """The largest page the spec allows (its ``maximum``), else 1000."""
        parameter = paged.operation.parameter("query", paged.size) or {}
        schema = deref(self.requests.spec.data, parameter.get("schema") or {})
        maximum = schema.get("maximum")
        return int(maximum) if isinstance(maximum, int | float) else 1000

    def _get(self, path: str, query: Mapping[str, Any]) -> tuple[int, Any]:
        status, body, _ = self.probes.target.request("GET", path, params=query)
        return status, body

    def _walk(self, paged: Paged, path: str, query: dict[str, Any], size: int, most: int) -> _Walk:
        walk = _Walk([], [])
        cursor: dict[str, Any] = {paged.page: 1} if paged.after is None and paged.page else {}
        while True:
            sent = {**query, paged.size: size, **cursor}
            status, body = self._get(path, sent)
            page = items_of(body) if status == 200 else None
            if page is None:
                walk.problem = f"GET {path} {_shown(sent)} answered {status}: {str(body)[:120]}"
                return walk
            ids = [item_id(item) for item in page]
            walk.pages.append((cursor, ids))
            if not ids:
                return walk
            again = [i for i in ids if i in walk.seen]
            if again:
                walk.problem = (
                    f"{_cursor_text(cursor)} with {paged.size}={size} returned {_ids(ids)}, already seen "
                    f"on an earlier page ({_ids(again)}): the cursor does not advance; "
                    f"an SDK's auto-pagination (the last item's id as {paged.after or paged.page} until a "
                    "page is empty) will loop forever"
                )
                return walk
            if len(ids) > size:
                walk.problem = f"{_cursor_text(cursor)} with {paged.size}={size} returned {len(ids)} items"
                return walk
            walk.seen.extend(ids)
            if len(walk.pages) > most:
                walk.problem = f"the walk did not end after {len(walk.pages)} pages of {size}"
                return walk
            if paged.after:
                cursor = {paged.after: ids[-1]}
            else:
                assert paged.page is not None  # a paged list has a cursor or a page number
                cursor = {paged.page: int(cursor[paged.page]) + 1}

    def _before(
        self, paged: Paged, call: tuple[str, dict[str, Any]], walk: _Walk, label: str, made: Created
    ) -> None:
        path, query = call
        report = self.probes.report
        if walk.problem or len(walk.seen) < 2:
            report.not_observed("paging.before", label, reason="no complete walk of 2 items or more")
            return
        assert paged.before is not None
        pivot = len(walk.seen) // 2
        sent = {**query, paged.size: len(walk.seen), paged.before: walk.seen[pivot]}
        status, body = self._get(path, sent)
        page = items_of(body) if status == 200 else None
        got = [item_id(item) for item in page] if page is not None else None
        if got != walk.seen[:pivot]:
            asked = self.probes.target.log[-1]
            self.probes.violation(
                "paging.before",
                f"{paged.before}={walk.seen[pivot]} should give the {pivot} item(s) before it in the walk "
                f"{_ids(walk.seen[:pivot])}; it answered {status} with "
                f"{_ids(got) if got is not None else str(body)[:120]}",
                made,
                unit=label,
                exchanges=(asked,),
            )
        else:
            report.passed("paging.before", label)


def _completeness(walk: _Walk, expected: list[str], order: str | None) -> str:
    """What the walk missed of the items created for it, or shows in the wrong order ('' if none)."""
    missing = [i for i in expected if i not in walk.seen]
    if missing:
        last = walk.pages[-2] if len(walk.pages) > 1 else walk.pages[-1]
        return (
            f"the walk ended after {len(walk.pages)} page(s) ({_cursor_text(walk.pages[-1][0])} returned "
            f"[]; the page before it was {_ids(last[1])}) without {len(missing)} of the {len(expected)} "
            f"items created for it ({_ids(missing)}): an SDK's auto-pagination will stop early and "
            "miss them"
        )
    shown = [i for i in walk.seen if i in expected]
    wanted = list(reversed(expected)) if order == "desc" else expected if order == "asc" else shown
    if shown != wanted:
        return f"order={order}: the walk shows the created items as {_ids(shown)}, expected {_ids(wanted)}"
    return ""


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:6]) + (", ..." if len(ids) > 6 else "")
    return f"[{shown}]"


def _shown(query: Mapping[str, Any]) -> str:
    return "&".join(f"{k}={v}" for k, v in query.items())


def _cursor_text(cursor: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in cursor.items()) or "the first page"

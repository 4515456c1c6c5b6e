"""The request journal: what clients asked and what the mock answered, in order, bounded in bytes.

Every entry is cleaned before anyone sees it: credentials are masked (the ``Authorization`` and
``Cookie`` headers, every header and query parameter the specs' security schemes name, and
secret-looking fields of JSON bodies), and long header values and bodies are cut with a marker, so
the journal never holds more than ``budget_bytes`` however large the requests. The oldest entries go
first, when either the entry count or the byte budget is passed.

Cutting happens when an entry is recorded (it bounds memory); masking, which costs a few
microseconds per request and is needed only by readers, happens when the entry is first read
(``entries()``, or the live feed while someone watches it). Nothing outside this class sees an
entry before that.

``select`` filters entries; ``verify`` counts the calls that match a pattern and, when none do,
names the nearest ones and how each differs, so a test in any language gets a readable failure.
"""

from __future__ import annotations

import fnmatch
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lifecycle.errors import ComebackError
from mockserver.masking import Masker
from mockserver.render import iso
from mockserver.safejson import BadJson, loads

TRUNCATED = "…[truncated {} characters]"
_ENTRY_OVERHEAD = 256  # bytes of fixed fields and object headers, roughly


def credential_names(documents: Iterable[Mapping[str, Any]]) -> tuple[set[str], set[str]]:
    """The header and query parameter names the specs' security schemes use."""
    headers: set[str] = set()
    query: set[str] = set()
    for document in documents:
        schemes = (document.get("components") or {}).get("securitySchemes") or {}
        for scheme in schemes.values():
            if not isinstance(scheme, Mapping):
                continue
            if scheme.get("type") == "apiKey" and isinstance(scheme.get("name"), str):
                where = scheme.get("in")
                (query if where == "query" else headers if where == "header" else set()).add(
                    scheme["name"].lower()
                )
            elif scheme.get("type") in ("http", "oauth2", "openIdConnect"):
                headers.add("authorization")
    return headers, query


@dataclass(slots=True)  # not frozen: its __init__ runs twice per request, and frozen costs 3x there
class JournalEntry:
    """One request: what came in, what went out. Bodies are text (cut and masked once recorded)."""

    method: str
    path: str
    query: str
    status: int
    api: str | None
    operation: str | None
    resource_id: str | None
    scenario: str | None
    time: float  # the mock clock's reading when the request arrived (epoch seconds)
    latency_ms: float
    headers: dict[str, str]
    request_body: str | None = None
    response_body: str | None = None  # None: no body kept (an event stream, or nothing sent)
    namespace: str = "default"  # state.base.DEFAULT_NAMESPACE; each namespace reads only its own
    size: int = 0  # bytes this entry counts against the journal's budget
    cleaned: bool = False  # masked and cut (``Journal`` cleans each entry once, before anyone reads it)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = iso(self.time)
        data["epoch"] = self.time
        data["request_body"] = self.body("request")
        data["response_body"] = self.body("response")
        del data["size"], data["cleaned"], data["namespace"]
        return data

    def body(self, which: str) -> Any:
        """A body as JSON when it parses (not cut), else as the recorded text."""
        text = self.request_body if which == "request" else self.response_body
        if not text:
            return text or None
        try:
            return loads(text)
        except BadJson:
            return text


class Journal:
    """Entries in arrival order; the oldest go when ``size`` entries or ``budget_bytes`` are passed."""

    def __init__(
        self,
        size: int,
        budget_bytes: int = 16 * 1_048_576,
        value_bytes: int = 4_096,
        body_bytes: int = 16_384,
        masker: Masker | None = None,
    ) -> None:
        self.size = size
        self.budget_bytes = budget_bytes
        self.value_bytes = value_bytes
        self.body_bytes = body_bytes
        self.masker = masker or Masker()
        self._entries: deque[JournalEntry] = deque()
        self._bytes = 0
        self._dirty = 0  # entries not cleaned yet
        self.on_record: Callable[[JournalEntry], None] | None = None  # the dashboard's live feed
        # whether on_record wants entries now: a feed nobody reads should not mask every request
        self.listening: Callable[[], bool] = lambda: True

    def record(self, entry: JournalEntry) -> None:
        """Keep ``entry``: long parts are cut now, credentials are masked before it is first read."""
        cut, body_cut = self.value_bytes, self.body_bytes
        size = _ENTRY_OVERHEAD + len(entry.path) + len(entry.query)
        size += len(entry.request_body or "") + len(entry.response_body or "")
        long = len(entry.query) > cut
        for name, value in entry.headers.items():
            size += len(name) + len(value)
            long = long or len(value) > cut
        if long or len(entry.request_body or "") > body_cut or len(entry.response_body or "") > body_cut:
            entry = self.clean(entry)  # rare: cut (and mask) at once, so memory stays within budget
            size = entry.size
        entry.size = size  # at least the cleaned size: masking and cutting only shorten
        self._dirty += not entry.cleaned
        self._entries.append(entry)
        self._bytes += size
        while self._entries and (len(self._entries) > self.size or self._bytes > self.budget_bytes):
            gone = self._entries.popleft()
            self._bytes -= gone.size
            self._dirty -= not gone.cleaned
        if self.on_record is not None and self.listening():
            kept = self._entries and self._entries[-1] is entry  # not when the budget took it at once
            self.on_record(self._cleaned(-1) if kept else self.clean(entry))

    def _cleaned(self, index: int) -> JournalEntry:
        entry = self._entries[index]
        if not entry.cleaned:
            entry = self._entries[index] = self.clean(entry)
            self._dirty -= 1
        return entry

    def clean(self, entry: JournalEntry) -> JournalEntry:
        """A masked and cut copy of ``entry`` (``entry`` itself when that was done already)."""
        if entry.cleaned:
            return entry
        masker, cut = self.masker, self.value_bytes
        # a secret the request carried is masked wherever the entry shows it again (a 422 echoing input)
        echoes = masker.request_secrets(entry.headers, entry.query, entry.request_body)
        headers = {
            name: _cut(masker.text(masker.header(name, value), echoes), cut)
            for name, value in entry.headers.items()
        }
        query = _cut(masker.query_string(entry.query), cut) if entry.query else ""
        request_body = self._body(entry.request_body, echoes)
        response_body = self._body(entry.response_body, echoes)
        size = (
            _ENTRY_OVERHEAD
            + len(entry.path)
            + len(query)
            + len(request_body or "")
            + len(response_body or "")
        )
        for name, value in headers.items():
            size += len(name) + len(value)
        return JournalEntry(  # the constructor, not dataclasses.replace (faster)
            entry.method,
            entry.path,
            query,
            entry.status,
            entry.api,
            entry.operation,
            entry.resource_id,
            entry.scenario,
            entry.time,
            entry.latency_ms,
            headers,
            request_body,
            response_body,
            entry.namespace,
            entry.size
            or size,  # once counted against the budget, an entry's size stays (eviction subtracts it)
            cleaned=True,
        )

    def _body(self, body: str | None, echoes: set[str]) -> str | None:
        if body is None:
            return None
        kept = body[: self.body_bytes]
        # masked after the cut, so a secret cut in half is masked too
        masked = self.masker.text(kept, echoes)
        return masked + (TRUNCATED.format(len(body) - len(kept)) if kept != body else "")

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, namespace: str) -> int:
        """How many entries ``namespace`` has (without cleaning any)."""
        return sum(entry.namespace == namespace for entry in self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes

    def entries(self, namespace: str | None = None) -> list[JournalEntry]:
        """Every entry (of ``namespace``; None: of all), oldest first, cleaned."""
        position = len(self._entries) - 1
        while self._dirty and position >= 0:  # the uncleaned ones are mostly the newest: look from the end
            self._cleaned(position)
            position -= 1
        if namespace is None:
            return list(self._entries)
        return [entry for entry in self._entries if entry.namespace == namespace]

    def clear(self, namespace: str | None = None) -> None:
        """Forget every entry (of ``namespace``; None: of all)."""
        if namespace is None:
            self._entries.clear()
            self._bytes = self._dirty = 0
            return
        kept = deque(entry for entry in self._entries if entry.namespace != namespace)
        self._entries = kept
        self._bytes = sum(entry.size for entry in kept)
        self._dirty = sum(not entry.cleaned for entry in kept)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + TRUNCATED.format(len(text) - limit)


def body_text(raw: bytes | None) -> str | None:
    """Request or response bytes as text for the journal (None stays None)."""
    return None if raw is None else raw.decode("utf-8", "replace")


# -- filters and verification ----------------------------------------------------------------------
FILTERS = ("api", "operation", "resource", "method", "status")
PATTERN_KEYS = frozenset({"method", "path", "operation", "api", "resource", "status", "body", "count"})


class PatternError(ComebackError, ValueError):
    """A filter or verify pattern that cannot be used; the message says what to send."""


def select(entries: Iterable[JournalEntry], filters: Mapping[str, Any]) -> list[JournalEntry]:
    """Entries matching every given filter (api, operation, resource, method, status)."""
    return [entry for entry in entries if not differences(entry, filters)]


def check_pattern(pattern: Any) -> dict[str, Any]:
    """A verify pattern, checked: raise ``PatternError`` with what is wrong."""
    if not isinstance(pattern, dict):
        raise PatternError('send a JSON object such as {"method": "POST", "operation": "createRun"}')
    unknown = sorted(set(pattern) - PATTERN_KEYS)
    if unknown:
        raise PatternError(f"unknown key(s) {unknown}; known: {sorted(PATTERN_KEYS)}")
    for key in ("method", "path", "operation", "api", "resource"):
        if key in pattern and not isinstance(pattern[key], str):
            raise PatternError(f"{key} must be a string")
    for key in ("status", "count"):
        value = pattern.get(key)
        small = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1000
        if value is not None and not small:
            raise PatternError(f"{key} must be a small non-negative integer")
    body = pattern.get("body")
    if body is not None and not (isinstance(body, dict) and all(isinstance(k, str) for k in body)):
        raise PatternError('body must map field paths to values, e.g. {"messages.0.content": "Hi*"}')
    return pattern


def differences(entry: JournalEntry, pattern: Mapping[str, Any]) -> list[str]:
    """How ``entry`` differs from ``pattern`` (empty: it matches). Strings in ``path`` and in body
    values are globs (``*`` any text, ``?`` one character); everything else must be equal."""
    found: list[str] = []

    def compare(name: str, expected: Any, actual: Any, glob: bool = False) -> None:
        same = (
            isinstance(actual, str) and fnmatch.fnmatchcase(actual, expected)
            if glob and isinstance(expected, str)
            else actual == expected
        )
        if not same:
            found.append(f"{name}: expected {expected!r}, found {actual!r}")

    if "method" in pattern:
        compare("method", str(pattern["method"]).upper(), entry.method)
    for key, actual in (("path", entry.path), ("operation", entry.operation), ("api", entry.api)):
        if key in pattern:
            compare(key, pattern[key], actual, glob=key == "path")
    if "resource" in pattern:
        compare("resource", pattern["resource"], entry.resource_id)
    if "status" in pattern and pattern["status"] is not None:
        compare("status", _int(pattern["status"]), entry.status)
    body_pattern = pattern.get("body") or {}
    if body_pattern:
        body = entry.body("request")
        for field, expected in body_pattern.items():
            compare(f"body.{field}", expected, _field(body, field), glob=True)
    return found


def verify(entries: list[JournalEntry], pattern: dict[str, Any], nearest: int = 3) -> dict[str, Any]:
    """How many entries match ``pattern``; with none, the ``nearest`` ones and their differences."""
    checks = {key: value for key, value in pattern.items() if key != "count"}
    matched = [entry for entry in entries if not differences(entry, checks)]
    answer: dict[str, Any] = {"matched": len(matched), "calls": [e.as_dict() for e in matched[-50:]]}
    if "count" in pattern:
        answer["expected"] = pattern["count"]
        answer["ok"] = len(matched) == pattern["count"]
    if not matched:
        ranked = sorted(
            ((differences(entry, checks), position, entry) for position, entry in enumerate(entries)),
            key=lambda item: (len(item[0]), -item[1]),
        )
        answer["nearest"] = [
            {"call": f"{e.method} {e.path}", "operation": e.operation, "time": iso(e.time), "differences": d}
            for d, _, e in ranked[:nearest]
        ]
    return answer


def _field(body: Any, path: str) -> Any:
    node = body
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value

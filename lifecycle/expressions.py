"""OpenAPI runtime expressions such as ``$request.path.message_id`` or ``$response.body#/id``.

The lifecycle block says where ids, tokens and cursors live with these expressions; this module
parses them and reads their value from a request/response pair.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from lifecycle.findings import split

_PATTERN = re.compile(
    r"^\$(?:(request)\.(path|query|header)\.([A-Za-z0-9_.-]+)|(request|response)\.body#(.*))$"
)

Source = Literal["request", "response"]
Location = Literal["path", "query", "header", "body"]


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed runtime expression: a named parameter, or a JSON pointer into a body."""

    text: str
    source: Source
    location: Location
    name: str = ""
    pointer: str = ""

    def evaluate(
        self,
        *,
        path: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        request_body: Any = None,
        response_body: Any = None,
    ) -> Any:
        """The value this expression points at, or None when it is absent."""
        if self.location == "body":
            return resolve_pointer(request_body if self.source == "request" else response_body, self.pointer)
        if self.location == "header":
            lowered = {key.lower(): value for key, value in (headers or {}).items()}
            return lowered.get(self.name.lower())
        if self.location == "path":
            return (path or {}).get(self.name)
        return (query or {}).get(self.name)


@lru_cache(maxsize=1024)  # a spec has a few dozen expressions, parsed on every request that uses them
def parse_expression(text: str) -> Expression:
    """Parse ``text``; raise ValueError when it is not a supported runtime expression."""
    match = _PATTERN.match(text)
    if match is None:
        raise ValueError(f"not a runtime expression: {text!r}")
    if match.group(1):
        return Expression(text, "request", match.group(2), name=match.group(3))  # type: ignore[arg-type]
    return Expression(text, match.group(4), "body", pointer=match.group(5))  # type: ignore[arg-type]


def resolve_pointer(document: Any, pointer: str) -> Any:
    """Value at ``pointer`` in ``document``, or None when any step is missing."""
    current = document
    for token in split(pointer):
        if isinstance(current, Mapping):
            current = current.get(token)
        elif isinstance(current, list) and token.isdigit() and int(token) < len(current):
            current = current[int(token)]
        else:
            return None
    return current

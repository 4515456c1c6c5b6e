"""Findings: one problem in one file, located by line and JSON pointer.

Every check in the project reports ``Finding`` values instead of raising on the first problem, so a
user sees all problems at once, each saying where it is, what was found and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at ``file:line`` (``pointer`` is the JSON pointer of the offending value)."""

    file: str
    line: int | None
    pointer: str
    message: str
    found: str | None = None
    expected: str | None = None
    suggestion: str | None = None

    def as_dict(self) -> dict[str, str | int | None]:
        """The finding as JSON data (what the admin API and the dashboard answer), with its text."""
        return {
            "line": self.line,
            "pointer": self.pointer,
            "message": self.message,
            "found": self.found,
            "expected": self.expected,
            "suggestion": self.suggestion,
            "text": str(self),
        }

    def __str__(self) -> str:
        location = f"{self.file}:{self.line}" if self.line is not None else self.file
        text = f"{location}: {self.pointer or '/'}: {self.message}"
        if self.found is not None:
            text += f"; found {self.found}"
        if self.expected is not None:
            text += f"; expected {self.expected}"
        if self.suggestion is not None:
            text += f"; did you mean {self.suggestion!r}?"
        return text


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word`` when it is close enough to be a likely typo."""
    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def show(value: Any) -> str:
    """Render a found value for a message: strings quoted, others as JSON-ish text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def one_of(values: Iterable[Any]) -> str:
    """'one of 'a', 'b'' for a closed set of expected values, in a stable order."""
    rendered = sorted(show(value) for value in values)
    return "one of " + ", ".join(rendered) if rendered else "nothing (the set is empty)"


def escape(token: str | int) -> str:
    """Escape one reference token of a JSON pointer (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join(pointer: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer."""
    return pointer + "".join("/" + escape(token) for token in tokens)


def split(pointer: str) -> list[str]:
    """The unescaped reference tokens of a JSON pointer ('' is the whole document)."""
    if not pointer:
        return []
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer[1:].split("/")]

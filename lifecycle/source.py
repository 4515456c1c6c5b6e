"""YAML source documents that remember where each value came from.

``load_document`` parses YAML text once and can tell the line of every value by JSON pointer, so
every later check can say ``file:line``. It does no I/O: the caller reads the file.

The lines are worked out when something first asks for one (a finding), by composing the text
again: a usable spec needs none, and indexing every node of the bundled specs at each start cost
more than the parse's own C part and ~1 MB kept for the life of the process.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from lifecycle.errors import SourceError
from lifecycle.findings import Finding, join, split

try:  # the C loader is several times faster on large specs; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Document:
    """Parsed YAML plus the 1-based line of each JSON pointer in it."""

    name: str
    data: Any
    lines: Mapping[str, int]

    def line_of(self, pointer: str) -> int | None:
        """Line of ``pointer``, or of its nearest ancestor that exists in the file."""
        tokens = split(pointer)
        while True:
            candidate = join("", *tokens)
            if candidate in self.lines:
                return self.lines[candidate]
            if not tokens:
                return None
            tokens.pop()

    def finding(self, pointer: str, message: str, **details: str | None) -> Finding:
        """A finding located at ``pointer`` in this document."""
        return Finding(self.name, self.line_of(pointer), pointer, message, **details)


def load_document(text: str, name: str) -> Document:
    """Parse YAML ``text`` (named ``name`` in messages); raise SourceError with located findings."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError([Finding(name, 1, "", "the file is empty", expected="a YAML mapping")])
        findings: list[Finding] = []
        _duplicates(node, [], findings, name)
        if findings:
            raise SourceError(findings)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        raise SourceError([Finding(name, line, "", f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as error:
        raise SourceError([Finding(name, None, "", f"not valid YAML: {error}")]) from None
    finally:
        loader.dispose()
    return Document(name, data, Lines(text))


class Lines(Mapping[str, int]):
    """The 1-based line of each JSON pointer of a YAML text that loaded, indexed on first use."""

    __slots__ = ("_lines", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[str, int] | None = None

    def _indexed(self) -> dict[str, int]:
        if self._lines is None:
            loader = _Loader(self._text)
            try:
                node = loader.get_single_node()
            finally:
                loader.dispose()
            lines: dict[str, int] = {}
            if node is not None:  # it was not None when the text loaded
                _index(node, "", lines)
            self._lines = lines
            self._text = ""  # the index is all that is needed from now on
        return self._lines

    def __getitem__(self, pointer: str) -> int:
        return self._indexed()[pointer]

    def __contains__(self, pointer: object) -> bool:
        return pointer in self._indexed()

    def __iter__(self) -> Iterator[str]:
        return iter(self._indexed())

    def __len__(self) -> int:
        return len(self._indexed())


def _duplicates(node: yaml.Node, path: list[str | int], findings: list[Finding], name: str) -> None:
    """Flag duplicate mapping keys, which YAML hides (the later value silently wins)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                findings.append(
                    Finding(
                        name,
                        line,
                        join("", *path, key),
                        "duplicate key",
                        found=repr(key),
                        expected=f"one definition (first on line {seen[key]})",
                    )
                )
                continue
            seen[key] = line
            path.append(key)
            _duplicates(value_node, path, findings, name)
            path.pop()
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path.append(index)
            _duplicates(item, path, findings, name)
            path.pop()


def _index(node: yaml.Node, pointer: str, lines: dict[str, int]) -> None:
    """Record the line of ``node`` and its children (a mapping key's line for its value)."""
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = join(pointer, str(key_node.value))
            lines[child] = key_node.start_mark.line + 1
            _index(value_node, child, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, join(pointer, index), lines)

"""YAML source documents that remember where each value came from.

``load_document`` parses YAML text once and can tell the line of every value by JSON pointer, so
every later check can say ``file:line``. It does no I/O: the caller reads the file.

The lines are worked out when something first asks for one (a finding), by composing the text
again: a usable spec needs none, and indexing every node of the bundled specs at each start cost
more than the parse's own C part and ~1 MB kept for the life of the process.

Whatever the text, the work is bounded: a size cap, and one walk over the composed nodes that meets
each node once. A YAML alias shares its anchor's node, so a few hundred bytes of nested aliases
(a "billion laughs") stand for billions of nodes that any pass over the data would expand; the walk
adds up what each alias stands for without expanding it and refuses more than ``MAX_ALIAS_NODES``,
and the line index never expands an alias either.
"""

from __future__ import annotations

import math
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

MAX_CHARS = 4_000_000  # one document's text; the bundled specs are under 100 kB
MAX_ALIAS_NODES = 100_000  # nodes aliases may add when expanded; hand-written anchors add far fewer
MAX_NUMBER_CHARS = 1000  # digits of an integer (Python refuses to read more than 4,300)


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
    """Parse YAML ``text`` (named ``name`` in messages); raise SourceError with located findings.

    The work is bounded whatever the text: at most ``MAX_CHARS`` characters, aliases that add at
    most ``MAX_ALIAS_NODES`` nodes when expanded (a "billion laughs" of a few hundred bytes would
    add 10^9), no alias inside its own anchor, and only finite numbers JSON can carry.
    """
    if len(text) > MAX_CHARS:
        raise SourceError(
            [
                Finding(
                    name,
                    None,
                    "",
                    "the document is too large",
                    found=f"{len(text)} characters",
                    expected=f"at most {MAX_CHARS}",
                )
            ]
        )
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise SourceError([Finding(name, 1, "", "the file is empty", expected="a YAML mapping")])
        findings = _inspect(node, name)
        if findings:
            raise SourceError(findings)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "invalid YAML"
        raise SourceError([Finding(name, line, "", f"not valid YAML: {problem}")]) from None
    except (yaml.YAMLError, ValueError, OverflowError) as error:  # e.g. a date such as 2024-13-45
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
                _index(node, lines)
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


@dataclass(slots=True)
class _Frame:
    """A collection on the walk's stack: its pointer, its children (node, token, line) and the
    number of nodes it stands for, expanded (itself and its scalar keys counted on entry)."""

    node: yaml.Node
    pointer: str
    children: list[tuple[yaml.Node, str | int, int]]
    size: int
    next: int = 0


def _inspect(root: yaml.Node, name: str) -> list[Finding]:
    """Every problem of the composed ``root`` found in one walk that meets each node once: duplicate
    keys, alias cycles, aliases that expand too far, numbers JSON cannot carry.

    The composer shares an anchored node between its aliases, so ``root`` is a graph; expanding it
    (as any later pass over the data does) costs one node per node of the tree it stands for. The
    walk adds an alias's expanded size instead of walking it again: linear in the text."""
    findings: list[Finding] = []
    if isinstance(root, yaml.ScalarNode):
        _check_scalar(root, "", findings, name)
        return findings
    sizes: dict[int, int] = {}  # id of a finished collection -> nodes it stands for, expanded
    open_ids = {id(root)}
    added = 0  # nodes the aliases add when expanded
    crossed: tuple[int, str] | None = None  # where ``added`` first passed the budget
    stack = [_enter(root, "", findings, name)]
    while stack:
        frame = stack[-1]
        if frame.next == len(frame.children):
            stack.pop()
            open_ids.discard(id(frame.node))
            sizes[id(frame.node)] = frame.size
            if stack:
                stack[-1].size += frame.size
            continue
        child, token, line = frame.children[frame.next]
        frame.next += 1
        if isinstance(child, yaml.ScalarNode):  # most nodes: no frame, and an alias of one adds 1
            frame.size += 1
            if child.tag in _NUMBER_TAGS:
                _check_scalar(child, join(frame.pointer, token), findings, name, line)
        elif id(child) in sizes:  # an alias: the whole tree it stands for, without walking it
            frame.size += sizes[id(child)]
            added += sizes[id(child)]
            if crossed is None and added > MAX_ALIAS_NODES:
                crossed = (line, join(frame.pointer, token))
        elif id(child) in open_ids:
            findings.append(
                Finding(
                    name,
                    line,
                    join(frame.pointer, token),
                    "an alias refers to a node that contains it (a cycle)",
                    expected="aliases of complete nodes only",
                )
            )
        else:
            open_ids.add(id(child))
            stack.append(_enter(child, join(frame.pointer, token), findings, name))
    if crossed is not None:
        findings.append(
            Finding(
                name,
                crossed[0],
                crossed[1],
                f"too many alias expansions ({added} > {MAX_ALIAS_NODES})",
                expected=f"anchors and aliases that add at most {MAX_ALIAS_NODES} nodes when expanded",
            )
        )
    return findings


def _enter(node: yaml.Node, pointer: str, findings: list[Finding], name: str) -> _Frame:
    """A frame for a collection met for the first time; duplicate keys into ``findings``."""
    if isinstance(node, yaml.SequenceNode):
        return _Frame(
            node,
            pointer,
            [(item, index, item.start_mark.line + 1) for index, item in enumerate(node.value)],
            1,
        )
    children: list[tuple[yaml.Node, str | int, int]] = []
    size = 1
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        key = _key(key_node)
        if isinstance(key_node, yaml.ScalarNode):
            size += 1
        else:  # a collection as a key (perhaps an alias of a large tree): walked like a value
            children.append((key_node, key, key_line))
        if key in seen and isinstance(key_node, yaml.ScalarNode):
            findings.append(
                Finding(
                    name,
                    key_line,
                    join(pointer, key),
                    "duplicate key",
                    found=repr(key),
                    expected=f"one definition (first on line {seen[key]})",
                )
            )
            continue
        seen.setdefault(key, key_line)
        children.append((value_node, key, key_line))
    return _Frame(node, pointer, children, size)


def _key(node: yaml.Node) -> str:
    """A mapping key as a pointer token; a key that is itself a collection is not spelled out (it
    may be an alias of a large tree)."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else f"<{type(node).__name__} key>"


_NOT_FINITE = frozenset({".nan", ".inf", "+.inf", "-.inf"})
_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})


def _check_scalar(
    node: yaml.ScalarNode, pointer: str, findings: list[Finding], name: str, line: int | None = None
) -> None:
    """A finding when a number scalar is one JSON cannot carry (or Python cannot read)."""
    found = (node.value[:40] + "...") if len(node.value) > 40 else node.value
    where = line if line is not None else node.start_mark.line + 1
    if node.tag == "tag:yaml.org,2002:int" and len(node.value) > MAX_NUMBER_CHARS:
        findings.append(
            Finding(
                name,
                where,
                pointer,
                "number too long",
                found=f"{len(node.value)} characters",
                expected=f"at most {MAX_NUMBER_CHARS}",
            )
        )
    elif node.tag == "tag:yaml.org,2002:float" and not _finite(node.value):
        findings.append(
            Finding(
                name,
                where,
                pointer,
                "not a finite number",
                found=repr(found),
                expected="a finite number (JSON has no NaN or Infinity)",
            )
        )


def _finite(value: str) -> bool:
    text = value.lower().replace("_", "")
    if text in _NOT_FINITE:
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:  # a YAML 1.1 form float() does not read (1:30.5): finite by construction
        return True


def _index(root: yaml.Node, lines: dict[str, int]) -> None:
    """Record the line of each node and its children (a mapping key's line for its value), each
    node once: an alias's values are found at their anchor's pointer, never expanded again."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, str, int]] = [(root, "", root.start_mark.line + 1)]
    while stack:
        node, pointer, line = stack.pop()
        lines.setdefault(pointer, line)
        if id(node) in seen:
            continue
        seen.add(id(node))
        children: list[tuple[yaml.Node, str, int]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                child = join(pointer, _key(key_node))
                lines[child] = key_node.start_mark.line + 1
                children.append((value_node, child, key_node.start_mark.line + 1))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                children.append((item, join(pointer, index), item.start_mark.line + 1))
        stack.extend(reversed(children))  # in document order, so an anchor is met before its aliases

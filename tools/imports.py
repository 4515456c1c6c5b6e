"""The import picture of a package: its modules, the arrows between them, floors and circles.

    python -m tools.imports                 # mockserver/
    python -m tools.imports lifecycle       # any package of the repository

An arrow ``a -> b`` means module ``a`` imports module ``b`` somewhere (at the top or inside a
function: a deferred import is still a dependency). A module's floor is the length of the longest
chain of arrows below it (a module importing nothing of the package is on floor 0); the modules of
one circle share a floor. ``tests/test_architecture.py`` uses ``picture`` to forbid circles.

Imports are read with ``tokenize``, not ``ast``: CPython 3.11.7 can fail an ``ast.parse`` that races
with another thread formatting a traceback, and the suite runs servers in threads.
"""

from __future__ import annotations

import argparse
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_STATEMENT_ENDS = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)


@dataclass(frozen=True, slots=True)
class Picture:
    """A package's modules (dotted names), arrows between them, floors and circles."""

    modules: tuple[str, ...]
    arrows: frozenset[tuple[str, str]]
    floors: dict[str, int]
    circles: tuple[tuple[str, ...], ...]

    def lines(self) -> list[str]:
        """The picture as text: a summary line, the circles, then each floor with its modules."""
        out = [
            f"{len(self.modules)} modules, {len(self.arrows)} arrows, "
            f"{max(self.floors.values(), default=-1) + 1} floors, {len(self.circles)} circles"
        ]
        out.extend("circle: " + " <-> ".join(circle) for circle in self.circles)
        for floor in sorted(set(self.floors.values()), reverse=True):
            names = sorted(m for m, f in self.floors.items() if f == floor)
            out.append(f"floor {floor}: " + ", ".join(names))
        for source in self.modules:
            targets = sorted(target for origin, target in self.arrows if origin == source)
            if targets:
                out.append(f"{source} -> " + ", ".join(targets))
        return out


def imported_names(path: Path, root: Path = REPO) -> set[str]:
    """Every dotted name an import statement in ``path`` names, with ``from a import b`` giving both
    ``a`` and ``a.b`` (``b`` may be a submodule). Relative imports are resolved against ``path``
    (a module under ``root``)."""
    with path.open("rb") as source:
        tokens = [
            t for t in tokenize.tokenize(source.readline) if t.type not in (tokenize.COMMENT, tokenize.NL)
        ]
    found: set[str] = set()
    starts = True
    for index, token in enumerate(tokens):
        if starts and token.type == tokenize.NAME and token.string in ("import", "from"):
            found.update(_statement(tokens, index, path, root))
        starts = token.type in _STATEMENT_ENDS or (token.type == tokenize.OP and token.string == ";")
    return found


def _statement(tokens: list[tokenize.TokenInfo], index: int, path: Path, root: Path) -> Iterator[str]:
    words: list[str] = []
    for token in tokens[index + 1 :]:
        if token.type == tokenize.NEWLINE or (token.type == tokenize.OP and token.string == ";"):
            break
        words.append(token.string)
    if tokens[index].string == "import":  # import a.b as c, d
        for part in " ".join(words).replace(" . ", ".").split(","):
            yield part.split()[0].strip() if part.split() else ""
        return
    text = " ".join(words).replace(" . ", ".").replace(". ", ".").replace(" .", ".")
    module, _, names = text.partition(" import ")
    module = module.strip()
    if module.startswith("."):  # from .x import y: relative to the importing module's package
        dots = len(module) - len(module.lstrip("."))
        package = path.parent
        for _ in range(dots - 1):
            package = package.parent
        base = ".".join(package.relative_to(root).parts)
        module = f"{base}.{module.lstrip('.')}".rstrip(".")
    yield module
    for name in names.replace("(", " ").replace(")", " ").split(","):
        if name.split():
            yield f"{module}.{name.split()[0]}"


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def picture(package: str, root: Path = REPO) -> Picture:
    """The import picture of ``package`` (a folder under ``root``)."""
    paths = sorted((root / package).rglob("*.py"))
    modules = {module_name(path, root): path for path in paths}
    arrows: set[tuple[str, str]] = set()
    for name, path in modules.items():
        for imported in imported_names(path, root):
            target = _known(imported, modules)
            if target is not None and target != name and not name.startswith(target + "."):
                arrows.add((name, target))  # a package's __init__ running first is no arrow of its own
    circles = _circles(modules, arrows)
    return Picture(tuple(modules), frozenset(arrows), _floors(modules, arrows, circles), circles)


def _known(imported: str, modules: Iterable[str]) -> str | None:
    """The longest known module that ``imported`` names (``a.b.func`` -> ``a.b``)."""
    known = set(modules)
    parts = imported.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            return candidate
    return None


def _circles(modules: Iterable[str], arrows: set[tuple[str, str]]) -> tuple[tuple[str, ...], ...]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    below: dict[str, list[str]] = {}
    for source, target in arrows:
        below.setdefault(source, []).append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(below.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for module in sorted(modules):
        if module not in index:
            visit(module)
    return tuple(sorted(found))


def _floors(
    modules: Iterable[str], arrows: set[tuple[str, str]], circles: tuple[tuple[str, ...], ...]
) -> dict[str, int]:
    """Longest chain of arrows below each module; a circle's members count as one."""
    group = {member: circle[0] for circle in circles for member in circle}
    below: dict[str, set[str]] = {}
    for source, target in arrows:
        a, b = group.get(source, source), group.get(target, target)
        if a != b:
            below.setdefault(a, set()).add(b)
    floors: dict[str, int] = {}

    def floor(node: str) -> int:
        if node not in floors:
            floors[node] = 0  # guards against a cycle the grouping missed
            floors[node] = 1 + max((floor(b) for b in below.get(node, ())), default=-1)
        return floors[node]

    return {module: floor(group.get(module, module)) for module in modules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.imports", description=__doc__.splitlines()[0])
    parser.add_argument(
        "package", nargs="?", default="mockserver", help="a package folder (default: mockserver)"
    )
    arguments = parser.parse_args(argv)
    for line in picture(arguments.package).lines():
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

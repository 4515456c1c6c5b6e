"""One owner per kind of state: the scenario book writes the scenario catalog, defaults, queue and
uploads; nothing writes into the engine's attributes from outside (issue 20, item 2)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("mockserver", "comeback")
SCENARIO_STATE = {"catalog", "book", "served", "file_apis", "put_scenarios", "defaults", "queued"}
MUTATORS = {"append", "appendleft", "clear", "extend", "pop", "popitem", "popleft", "setdefault", "update"}


def _chain(node: ast.expr) -> list[str]:
    """The names along ``a.b[c].d`` (``["a", "b", "d"]``): what an expression reaches through."""
    names: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        else:
            if isinstance(node, ast.Name):
                names.append(node.id)
            return names[::-1]


def writes(source: str) -> list[tuple[int, list[str]]]:
    """Each assignment, deletion or mutating call whose target reaches through an engine, or
    through scenario state, with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Delete) else [node.target]
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS
        ):
            targets = [node.func.value]
        for target in targets:
            if not isinstance(target, ast.Attribute | ast.Subscript):
                continue
            chain = _chain(target)
            through_engine = "engine" in chain[:-1] and not (len(chain) == 2 and chain[0] == "self")
            reached = chain[1:-1] if isinstance(target, ast.Attribute) else chain[1:]  # past the root
            if through_engine or SCENARIO_STATE & set(reached):
                found.append((getattr(node, "lineno", 0), chain))
    return sorted(found)


def test_the_rule_sees_the_writes_it_forbids() -> None:
    source = (
        "engine.catalog['letta'] = api\n"
        "self.engine.defaults[name] = 'x'\n"
        "self.engine.queued.setdefault(api, []).append(s)\n"
        "del engine.put_scenarios[api]\n"
        "self.engine.closing = True\n"
        "found = engine.catalog['letta']\n"  # a read: allowed
        "catalog[name] = api\n"  # a local dict that happens to share the name: allowed
        "self.engine = engine\n"  # the module's own attribute: allowed
    )
    assert [line for line, _ in writes(source)] == [1, 2, 3, 4, 5]


def test_only_the_owners_write_scenario_state_and_nobody_writes_into_the_engine() -> None:
    owners = {REPO / "mockserver" / "scenario_book.py", REPO / "mockserver" / "engine.py"}
    offenders = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path in owners:
                continue
            for line, chain in writes(path.read_text(encoding="utf-8")):
                offenders.append(f"{Path(path).relative_to(REPO)}:{line}: writes {'.'.join(chain)}")
    assert offenders == []

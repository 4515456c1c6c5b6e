"""The layering rule of ARCHITECTURE.md, enforced: imports point down only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

# package -> top-level modules it must never import
FORBIDDEN = {
    # the pure core: no web framework, no network, no clock, no processes, and no layer above it
    "lifecycle": {
        "mockserver",
        "contracts",
        "comeback",
        "starlette",
        "uvicorn",
        "httpx",
        "schemathesis",
        "socket",
        "asyncio",
        "time",
        "threading",
        "subprocess",
        "random",
    },
    "mockserver": {"contracts", "comeback"},
    "contracts": {"mockserver", "comeback"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


CASES = [(package, path) for package in FORBIDDEN for path in sorted((REPO / package).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), CASES, ids=[str(p.relative_to(REPO)) for _, p in CASES])
def test_imports_point_down(package: str, path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN[package]


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom mockserver.app import create_app\n")
    assert imported_modules(bad) & FORBIDDEN["lifecycle"] == {"time", "mockserver"}


def test_core_package_exists() -> None:
    assert any(package == "lifecycle" for package, _ in CASES)

"""The layering rule of ARCHITECTURE.md, enforced: imports point down only."""

from __future__ import annotations

import tokenize
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
    "mockserver": {"contracts", "comeback", "recorder"},
    "contracts": {"mockserver", "comeback", "recorder"},
    # the recorder records any server: it shares no code with the mock or the kit
    "recorder": {"mockserver", "contracts", "comeback"},
}


def imported_modules(path: Path) -> set[str]:
    """Top-level modules named by import statements, read with ``tokenize``.

    Not ``ast``: CPython 3.11.7 can fail an ``ast.parse`` that races with another thread formatting
    a traceback (which parses source for its carets), and this suite runs servers in threads.
    """
    found: set[str] = set()
    with path.open("rb") as source:
        tokens = [
            t for t in tokenize.tokenize(source.readline) if t.type not in (tokenize.COMMENT, tokenize.NL)
        ]
    starts_statement = True
    for index, token in enumerate(tokens):
        if starts_statement and token.type == tokenize.NAME and token.string in ("import", "from"):
            following = tokens[index + 1]
            if token.string == "from" and following.string == ".":
                pass  # a relative import stays inside its package
            elif token.string == "from":
                found.add(following.string)
            else:
                found.update(_names_after_import(tokens, index + 1))
        starts_statement = token.type in (
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENCODING,
        ) or (token.type == tokenize.OP and token.string == ";")
    return found


def _names_after_import(tokens: list[tokenize.TokenInfo], index: int) -> set[str]:
    """``import a.b as c, d`` -> {"a", "d"}."""
    names, expect_name = set(), True
    for token in tokens[index:]:
        if token.type == tokenize.NEWLINE or (token.type == tokenize.OP and token.string == ";"):
            break
        if expect_name and token.type == tokenize.NAME:
            names.add(token.string)
            expect_name = False
        elif token.type == tokenize.OP and token.string == ",":
            expect_name = True
    return names


CASES = [(package, path) for package in FORBIDDEN for path in sorted((REPO / package).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), CASES, ids=[str(p.relative_to(REPO)) for _, p in CASES])
def test_imports_point_down(package: str, path: Path) -> None:
    assert not imported_modules(path) & FORBIDDEN[package]


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""import socket (a docstring, not an import)"""\nimport time, os.path as p\n'
        "from mockserver.app import create_app\nif True:\n    import asyncio\nfrom . import sibling\n"
    )
    assert imported_modules(bad) == {"time", "os", "mockserver", "asyncio"}


def test_core_package_exists() -> None:
    assert any(package == "lifecycle" for package, _ in CASES)

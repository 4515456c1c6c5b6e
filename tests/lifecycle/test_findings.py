"""``lifecycle.findings`` as tables: JSON pointers, rendered values, the one shape of every message."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.findings import Finding, closest, escape, join, one_of, show, split


@pytest.mark.parametrize(
    ("base", "tokens", "pointer"),
    [
        ("", (), ""),
        ("", ("paths", "/v1/runs/{id}", "get"), "/paths/~1v1~1runs~1{id}/get"),
        ("/a", (0, "b~c"), "/a/0/b~0c"),
        ("", ("~1",), "/~01"),  # escaped in the order RFC 6901 says: ~ first
    ],
)
def test_pointers_join_and_split_back(base: str, tokens: tuple[str | int, ...], pointer: str) -> None:
    assert join(base, *tokens) == pointer
    assert split(pointer)[len(split(base)) :] == [str(token) for token in tokens]


@pytest.mark.parametrize(("token", "escaped"), [("a/b", "a~1b"), ("a~b", "a~0b"), (3, "3"), ("", "")])
def test_escape(token: str | int, escaped: str) -> None:
    assert escape(token) == escaped


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        ("x", "'x'"),
        (3, "3"),
        ([1], "[1]"),
        ("y" * 100, repr("y" * 100)),
    ],
)
def test_show(value: Any, shown: str) -> None:
    assert show(value) == shown


def test_show_cuts_long_values_that_are_not_strings() -> None:
    text = show(list(range(100)))
    assert len(text) == 80
    assert text.endswith("...")


@pytest.mark.parametrize(
    ("values", "text"),
    [(["b", "a"], "one of 'a', 'b'"), ([2, 1], "one of 1, 2"), ([], "nothing (the set is empty)")],
)
def test_one_of(values: list[Any], text: str) -> None:
    assert one_of(values) == text


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [("queud", ["queued", "running"], "queued"), ("xyz", ["queued"], None), ("runing", [], None)],
)
def test_closest(word: str, candidates: list[str], expected: str | None) -> None:
    assert closest(word, candidates) == expected


@pytest.mark.parametrize(
    ("finding", "text"),
    [
        (Finding("a.yaml", 3, "/x", "unknown state"), "a.yaml:3: /x: unknown state"),
        (Finding("a.yaml", None, "", "empty"), "a.yaml: /: empty"),
        (
            Finding("a.yaml", 2087, "/t/2", "unknown state", "'queud'", "one of 'queued'", "queued"),
            "a.yaml:2087: /t/2: unknown state; found 'queud'"
            "; expected one of 'queued'; did you mean 'queued'?",
        ),
    ],
)
def test_every_finding_reads_the_same_way(finding: Finding, text: str) -> None:
    assert str(finding) == text
    assert finding.as_dict()["text"] == text
    assert finding.as_dict()["line"] == finding.line

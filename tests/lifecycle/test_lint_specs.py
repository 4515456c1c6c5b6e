"""`lint` on the fixture specs: the minimal one is clean; each broken one fails with its exact text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lifecycle import SourceError, load_spec, source
from lifecycle.examples import example_findings
from lifecycle.lint import lint_document
from lifecycle.source import load_document
from tests.conftest import TEST_SPECS

BROKEN = sorted((TEST_SPECS / "broken").glob("*.yaml"))


def lint_text(path: Path) -> str:
    name = path.relative_to(TEST_SPECS).as_posix()
    try:
        findings = lint_document(load_document(path.read_text(encoding="utf-8"), name))
    except SourceError as error:
        findings = list(error.findings)
    return "".join(f"{finding}\n" for finding in findings)


def test_minimal_spec_is_clean() -> None:
    assert lint_text(TEST_SPECS / "minimal.yaml") == ""


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_spec_reports_exactly_the_expected_findings(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8")
    assert expected, f"{path.name} must fail"
    assert lint_text(path) == expected


def test_every_broken_spec_has_its_expected_text() -> None:
    expected = {p.stem for p in (TEST_SPECS / "broken").glob("*.expected")}
    assert expected == {p.stem for p in BROKEN}


def test_load_spec_refuses_a_broken_spec_with_all_findings() -> None:
    path = TEST_SPECS / "broken" / "state_value_not_in_enum.yaml"
    with pytest.raises(SourceError) as caught:
        load_spec(path.read_text(encoding="utf-8"), "broken/state_value_not_in_enum.yaml")
    assert len(caught.value.findings) == 2
    assert str(caught.value) == lint_text(path).rstrip("\n")


def test_load_spec_builds_the_lifecycle_of_a_clean_spec() -> None:
    spec = load_spec((TEST_SPECS / "minimal.yaml").read_text(encoding="utf-8"), "tests/specs/minimal.yaml")
    assert spec.name == "minimal"
    assert spec.lifecycle.terminal_states == {"done", "cancelled"}
    assert set(spec.operations) == {"createJob", "getJob", "cancelJob"}


LINES_TEXT = """openapi: 3.1.0
paths:
  /a/{id}:
    get:
      tags: [x, y]
      responses:
        '200':
          description: ok
list:
  - one
  - k: v
"""


def test_lines_are_indexed_when_first_asked_and_name_each_key(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []  # each time the index was built
    index = source._index

    def counted(node: Any, lines: dict[str, int]) -> None:
        calls.append("")
        index(node, lines)

    monkeypatch.setattr(source, "_index", counted)
    document = load_document(LINES_TEXT, "t.yaml")
    assert calls == []  # loading a usable text indexes nothing
    assert document.line_of("/paths/~1a~1{id}/get/responses/200/description") == 8
    assert calls == [""]
    assert dict(document.lines) == {
        "": 1,
        "/openapi": 1,
        "/paths": 2,
        "/paths/~1a~1{id}": 3,
        "/paths/~1a~1{id}/get": 4,
        "/paths/~1a~1{id}/get/tags": 5,
        "/paths/~1a~1{id}/get/tags/0": 5,
        "/paths/~1a~1{id}/get/tags/1": 5,
        "/paths/~1a~1{id}/get/responses": 6,
        "/paths/~1a~1{id}/get/responses/200": 7,
        "/paths/~1a~1{id}/get/responses/200/description": 8,
        "/list": 9,
        "/list/0": 10,
        "/list/1": 11,
        "/list/1/k": 11,
    }
    assert document.line_of("/list/1/k/nothing/here") == 11  # the nearest ancestor's line
    assert calls == [""]  # indexed once


EXAMPLES_TEXT = """openapi: 3.1.0
info: {title: t, version: "1"}
paths:
  /a/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}, example: "x"}
    get:
      parameters:
        - name: q
          in: query
          schema: {type: string, maxLength: 2}
          examples:
            long: {value: "abcdef"}
            fine: {value: "ab"}
      responses:
        "200":
          description: ok
          headers:
            X-Rate:
              schema: {type: integer}
              example: "no"
          content:
            application/json:
              schema:
                type: object
                properties:
                  n: {type: integer, examples: [1, "two"]}
                  schema: {type: object, properties: {deep: {type: string, examples: [3]}}}
              example: {n: "z"}
              examples:
                one: {value: {n: 1}}
                two: {value: {n: false}}
components:
  schemas:
    T:
      type: string
      examples: [1, "ok"]
      properties:
        content: {type: integer, examples: ["c"]}
  headers:
    H:
      schema: {type: boolean}
      example: 5
  parameters:
    P: {name: p, in: header, schema: {type: integer}, example: "p"}
"""


def test_every_kind_of_example_is_checked_where_it_stands() -> None:
    # parameters (path-level, operation-level, components), headers, media types (example and
    # examples), schema-level examples arrays, nested schemas, a property named like a keyword
    document = load_document(EXAMPLES_TEXT, "examples.yaml")
    media = "/paths/~1a~1{id}/get/responses/200/content/application~1json"
    found = [(f.line, f.pointer, f.message.rsplit(" at ", 1)[1]) for f in example_findings(document)]
    assert found == [
        (6, "/paths/~1a~1{id}/parameters/0/example", "/paths/~1a~1{id}/parameters/0/schema"),
        (
            13,
            "/paths/~1a~1{id}/get/parameters/0/examples/long/value",
            "/paths/~1a~1{id}/get/parameters/0/schema",
        ),
        (
            21,
            "/paths/~1a~1{id}/get/responses/200/headers/X-Rate/example",
            "/paths/~1a~1{id}/get/responses/200/headers/X-Rate/schema",
        ),
        (29, f"{media}/example/n", f"{media}/schema"),
        (32, f"{media}/examples/two/value/n", f"{media}/schema"),
        (27, f"{media}/schema/properties/n/examples/1", f"{media}/schema/properties/n"),
        (
            28,
            f"{media}/schema/properties/schema/properties/deep/examples/0",
            f"{media}/schema/properties/schema/properties/deep",
        ),
        (37, "/components/schemas/T/examples/0", "/components/schemas/T"),
        (
            39,
            "/components/schemas/T/properties/content/examples/0",
            "/components/schemas/T/properties/content",
        ),
        (43, "/components/headers/H/example", "/components/headers/H/schema"),
        (45, "/components/parameters/P/example", "/components/parameters/P/schema"),
    ]

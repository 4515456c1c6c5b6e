"""``lifecycle.validation`` as a table: JSON Schema errors turned into located findings."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator

from lifecycle.source import load_document
from lifecycle.validation import schema_findings, shipped_validator

SCHEMA = {
    "type": "object",
    "required": ["state"],
    "additionalProperties": False,
    "properties": {
        "state": {"enum": ["queued", "running"]},
        "after": {"type": "number"},
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "effect": {
            "oneOf": [
                {"type": "object", "properties": {"kind": {"const": "delay"}, "ms": {"type": "integer"}}},
                {"type": "object", "properties": {"kind": {"const": "status"}, "code": {"type": "integer"}}},
            ]
        },
    },
}
VALIDATOR = Draft202012Validator(SCHEMA)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state: queued\n", []),
        ("after: 1\n", ["s.yaml:1: /: missing required key; expected 'state'"]),
        (
            "state: queud\n",
            [
                "s.yaml:1: /state: value not allowed; found 'queud'"
                "; expected one of 'queued', 'running'; did you mean 'queued'?"
            ],
        ),
        (
            "state: queued\nstat: x\n",
            [
                "s.yaml:2: /stat: unknown key; found 'stat'"
                "; expected one of 'after', 'effect', 'name', 'state'; did you mean 'state'?"
            ],
        ),
        (
            "state: queued\nafter: soon\n",
            ["s.yaml:2: /after: wrong type; found string 'soon'; expected number"],
        ),
        (
            "state: queued\nname: A1\n",
            [
                "s.yaml:2: /name: value does not match its pattern; found 'A1'"
                "; expected a string matching ^[a-z]+$"
            ],
        ),
        (
            "state: queued\neffect: {kind: dely}\n",
            [
                "s.yaml:2: /effect/kind: value not allowed; found 'dely'"
                "; expected one of 'delay', 'status'; did you mean 'delay'?"
            ],
        ),
    ],
)
def test_schema_errors_become_findings(text: str, expected: list[str]) -> None:
    document = load_document(text, "s.yaml")
    assert [str(f) for f in schema_findings(VALIDATOR, document.data, document, "")] == expected


@pytest.mark.parametrize("name", ["scenario.schema.json", "x-lifecycle.schema.json"])
def test_the_shipped_schemas_load_once(name: str) -> None:
    assert shipped_validator(name) is shipped_validator(name)
    Draft202012Validator.check_schema(shipped_validator(name).schema)

"""tools/spec_agreement.py: the mechanical comparison of our specs with the vendors' published ones,
proven on small documents built here (nothing is downloaded)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools.spec_agreement import compare, decided_by, main, matches, report


def content(*types: str) -> dict[str, Any]:
    """A discriminated union of content parts, one member per type."""
    return {
        "anyOf": [
            {"type": "object", "required": ["value"], "properties": {"type": {"const": t}, "value": {}}}
            for t in types
        ]
    }


def document(**changes: Any) -> dict[str, Any]:
    """One served operation: a body with a content union, a response with an enum and required
    fields, a parameter and two status codes; ``changes`` replace parts of it."""
    body = {
        "type": "object",
        "required": ["input"],
        "properties": {"input": {"type": "array", "items": changes.get("parts", content("text", "image"))}},
    }
    item = {
        "type": "object",
        "required": changes.get("required", ["id", "status"]),
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": changes.get("statuses", ["created", "completed"])},
        },
    }
    operation = {
        "operationId": "createThing",
        "parameters": [{"name": "limit", "in": "query", "required": changes.get("limit_required", False)}],
        "requestBody": {"content": {"application/json": {"schema": body}}},
        "responses": {
            code: {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}
            for code in changes.get("codes", ["200", "404"])
        },
    }
    return {
        "openapi": "3.1.0",
        "paths": {"/v1/things/": {"post": operation}},
        "components": {"schemas": {"Thing": item}},
        **({"x-lifecycle": {"decisions": changes["decisions"]}} if "decisions" in changes else {}),
    }


def figures(vendor: dict[str, Any], ours: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {kind: (f.agree, f.total) for kind, f in compare(vendor, ours).items()}


def test_identical_documents_agree_everywhere() -> None:
    assert figures(document(), document()) == {
        "parameter": (1, 1),
        "status": (2, 2),
        "request-variant": (2, 2),
        "response-variant": (0, 0),
        "enum": (1, 1),
        "required": (5, 5),  # input, value in each of the two parts, id + status in the 200 response
    }


def test_operations_only_the_vendor_has_are_not_counted() -> None:
    vendor = document()
    vendor["paths"]["/v1/other"] = {
        "get": {"parameters": [{"name": "q", "in": "query"}], "responses": {"500": {}}}
    }
    assert figures(vendor, document()) == figures(document(), document())


@pytest.mark.parametrize(
    ("ours", "kind", "key"),
    [
        (document(parts=content("text", "audio")), "request-variant", "request.input[]<image>"),
        (document(statuses=["created"]), "enum", "response200.status missing completed"),
        (document(required=["id"]), "required", "response200.status (vendor requires)"),
        (document(required=["id", "status", "extra"]), "required", None),  # not a property: not counted
        (document(codes=["200"]), "status", "createThing:404"),
        (document(limit_required=True), "parameter", "createThing:query.limit"),
    ],
)
def test_each_kind_of_difference_is_found(ours: dict[str, Any], kind: str, key: str | None) -> None:
    found = compare(document(), ours)
    if key is None:
        assert all(not f.differences for f in found.values())
        return
    (difference,) = found[kind].differences
    assert key in difference
    assert all(not f.differences for k, f in found.items() if k != kind)


def test_ours_stricter_is_a_difference_too_and_refs_allof_do_not_matter() -> None:
    ours = document(required=["id", "status"])
    thing = ours["components"]["schemas"]["Thing"]
    ours["components"]["schemas"]["Thing"] = {
        "allOf": [{"$ref": "#/components/schemas/Base"}, {"required": ["status"]}]
    }
    ours["components"]["schemas"]["Base"] = {**thing, "required": ["id"]}
    assert figures(document(), ours)["required"] == (5, 5)
    vendor = document(required=["id"])
    (difference,) = compare(vendor, document())["required"].differences
    assert difference.endswith("response200.status (ours requires)")


def test_a_catch_all_member_accepts_unmodelled_variants() -> None:
    ours = document(parts=content("text"))
    catch_all = {"type": "object", "properties": {"type": {"type": "string"}}, "additionalProperties": True}
    ours["paths"]["/v1/things/"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"
    ]["input"]["items"]["anyOf"].append(catch_all)
    assert figures(document(parts=content("text", "image", "audio")), ours)["request-variant"] == (3, 3)


def test_decisions_name_differences_with_patterns() -> None:
    decisions = [{"ambiguity": "X-A1", "decision": "We keep it closed: `enum:*status missing *`."}]
    ours = document(statuses=["created"], decisions=decisions)
    text = report(compare(document(), ours), decided_by(ours))
    assert "[X-A1] enum:createThing:response200.status missing completed" in text
    assert "differences: 1 (1 decided, 0 undecided)" in text
    assert matches("a[]<b>.c", "a[]<*>.c")
    assert not matches("a[]<b>.c", "a[]<b>")


def test_the_command_reads_json_and_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vendor, ours = tmp_path / "vendor.json", tmp_path / "ours.yaml"
    vendor.write_text(json.dumps(document()))
    changed = copy.deepcopy(document(codes=["200"]))
    ours.write_text(yaml.safe_dump(changed))
    assert main([str(vendor), str(ours)]) == 0
    out = capsys.readouterr().out
    assert "status: 1 of 2 agree" in out
    assert "[undecided] status:createThing:404" in out
    assert main([str(tmp_path / "missing.json"), str(ours)]) == 2

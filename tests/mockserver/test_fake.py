"""FakeData: every generated value validates against its schema, deterministically per seed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from mockserver.fake import FakeData
from mockserver.fake.run import DEPTH_LIMIT
from tests.conftest import REPO, SPECS

URI = "urn:comeback:test-document"
SEEDS = [f"s{i}" for i in range(10)]
SPEC_FILES = sorted(SPECS.glob("*.yaml"))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def at(document: Mapping[str, Any], pointer: str) -> Any:
    target: Any = document
    for raw in pointer.split("/")[1:]:
        part = raw.replace("~1", "/").replace("~0", "~")
        target = target[int(part)] if isinstance(target, list) else target[part]
    return target


def follow(document: Mapping[str, Any], pointer: str) -> str:
    """The pointer of the object at `pointer`, following `$ref`s (components/responses, requestBodies)."""
    while "$ref" in (target := at(document, pointer)):
        pointer = target["$ref"][1:]
    return pointer


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, pointer) of every operation, including those of callbacks and webhooks."""
    roots = [("paths", path) for path in document.get("paths", {})]
    roots += [("webhooks", name) for name in document.get("webhooks", {})]
    for section, path in roots:
        item_pointer = f"/{section}/{escape(path)}"
        for method, operation in at(document, item_pointer).items():
            if method not in METHODS:
                continue
            pointer = f"{item_pointer}/{method}"
            yield f"{method.upper()} {path}", pointer
            for name, callback in operation.get("callbacks", {}).items():
                for expression, item in callback.items():
                    for inner in item:
                        if inner in METHODS:
                            inner_pointer = f"{pointer}/callbacks/{escape(name)}/{escape(expression)}/{inner}"
                            yield f"{method.upper()} {path} callback {name} {inner.upper()}", inner_pointer


def body_schemas(document: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(label, pointer) of every application/json response and request-body schema."""
    for label, pointer in operations(document):
        operation = at(document, pointer)
        bodies = [
            (f"{label} -> {status}", f"{pointer}/responses/{escape(status)}")
            for status in operation.get("responses", {})
        ]
        if "requestBody" in operation:
            bodies.append((f"{label} request body", f"{pointer}/requestBody"))
        for body_label, body_pointer in bodies:
            resolved = follow(document, body_pointer)
            media = at(document, resolved).get("content", {}).get("application/json", {})
            if "schema" in media:
                yield body_label, f"{resolved}/content/application~1json/schema"


class Checker:
    """Validates values against schemas of one document, `$ref`s resolved through a registry."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(URI, resource)

    def errors(self, pointer: str, value: Any) -> list[str]:
        validator = Draft202012Validator(
            {"$ref": f"{URI}#{pointer}"}, registry=self.registry, format_checker=FormatChecker()
        )
        return [f"{list(error.absolute_path)}: {error.message}" for error in validator.iter_errors(value)]


def sweep(document: Mapping[str, Any], targets: list[tuple[str, str]]) -> list[str]:
    fake = FakeData(document)
    checker = Checker(document)
    failures = []
    for label, pointer in targets:
        for seed in SEEDS:
            value = fake.value(at(document, pointer), seed)
            for error in checker.errors(pointer, value)[:3]:
                failures.append(f"{label} [{seed}] {error}\n    value: {json.dumps(value)[:300]}")
    return failures


@pytest.mark.parametrize("spec", SPEC_FILES, ids=[path.stem for path in SPEC_FILES])
def test_every_body_schema_of_every_operation_validates(spec: Path) -> None:
    document = load(spec)
    targets = list(body_schemas(document))
    assert any("request body" in label for label, _ in targets)
    assert any("->" in label for label, _ in targets)
    failures = sweep(document, targets)
    assert not failures, f"{len(failures)} invalid values:\n" + "\n".join(failures[:40])


@pytest.mark.parametrize("spec", SPEC_FILES, ids=[path.stem for path in SPEC_FILES])
def test_every_component_schema_validates(spec: Path) -> None:
    document = load(spec)
    names = document.get("components", {}).get("schemas", {})
    targets = [(name, f"/components/schemas/{escape(name)}") for name in names]
    failures = sweep(document, targets)
    assert not failures, f"{len(failures)} invalid values:\n" + "\n".join(failures[:40])


def test_the_sweep_sees_request_bodies_and_responses() -> None:
    labels = [label for spec in SPEC_FILES for label, _ in body_schemas(load(spec))]
    assert len(labels) > 40
    assert sum("request body" in label for label in labels) >= 4


# ---------------------------------------------------------------------------------------- determinism


LETTA = SPECS / "letta.yaml"


def letta_run() -> tuple[FakeData, Any]:
    document = load(LETTA)
    return FakeData(document), document["components"]["schemas"]["Run"]


def test_same_schema_and_seed_give_equal_values_also_on_a_fresh_instance() -> None:
    fake, run = letta_run()
    first = [fake.value(run, seed) for seed in SEEDS]
    again = [fake.value(run, seed) for seed in reversed(SEEDS)][::-1]
    fresh, _ = letta_run()
    assert first == again == [fresh.value(run, seed) for seed in SEEDS]


def test_different_seeds_usually_differ() -> None:
    fake, run = letta_run()
    values = {json.dumps(fake.value(run, seed), sort_keys=True) for seed in SEEDS}
    assert len(values) == len(SEEDS)
    ids = {fake.value({"type": "string", "format": "uuid"}, seed) for seed in SEEDS}
    assert len(ids) == len(SEEDS)


SCRIPT = """
import json, sys, yaml
from mockserver.fake import FakeData
with open(sys.argv[1], encoding="utf-8") as handle:
    document = yaml.safe_load(handle)
fake = FakeData(document)
print(json.dumps([fake.value(document["components"]["schemas"]["Run"], s) for s in ("s0", "s1")]))
"""


def test_values_are_the_same_across_processes() -> None:
    fake, run = letta_run()
    expected = json.loads(json.dumps([fake.value(run, "s0"), fake.value(run, "s1")]))
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(LETTA)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(result.stdout) == expected


# ------------------------------------------------------------------------------------- keyword tables


def generate(schemas: Mapping[str, Any], name: str = "T", seeds: list[str] = SEEDS) -> list[Any]:
    """Values for components/schemas/<name> of a small document, each checked against its schema."""
    document = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "components": {"schemas": schemas},
    }
    fake = FakeData(document)
    checker = Checker(document)
    values = []
    for seed in seeds:
        value = fake.value(schemas[name], seed)
        errors = checker.errors(f"/components/schemas/{name}", value)
        assert not errors, f"seed {seed}: {json.dumps(value)} -> {errors}"
        values.append(value)
    return values


@pytest.mark.parametrize(
    "pattern",
    [
        r"^agent-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        r"^(job|run)-[a-fA-F0-9]{8}",
        r"^[A-Z]{2,4}_\d+$",
        r"^https://chatzy-kb-store\.s3(\.us-east-1)?\.amazonaws\.com/\S+$",
        r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$",
        r"^(ab|cd)-\1$",
        r"^[^0-9\s]{3}$",
        r"^(?:x|y){2,3}?z\b",
        r"^\w+@\w+\.(com|org)$",
        r"^(?P<word>[a-z]+)=(?P=word)$",
        r"^(a)?(?(1)b|c)$",
        r"colou?r",
    ],
)
def test_pattern(pattern: str) -> None:
    values = generate({"T": {"type": "string", "pattern": pattern}})
    assert all(re.search(pattern, value) for value in values)


@pytest.mark.parametrize(
    ("schema", "check"),
    [
        ({"pattern": "^[A-Za-z0-9+/]*={0,2}$", "minLength": 12}, lambda v: len(v) >= 12),
        ({"pattern": "[a-z]+", "maxLength": 3}, lambda v: 1 <= len(v) <= 3),
        ({"pattern": "^(job|run)-[a-f0-9]{8}", "minLength": 20}, lambda v: len(v) >= 20),
        ({"minLength": 30, "maxLength": 32}, lambda v: 30 <= len(v) <= 32),
        ({"maxLength": 2}, lambda v: len(v) <= 2),
    ],
)
def test_string_lengths_with_and_without_pattern(schema: dict[str, Any], check: Any) -> None:
    assert all(check(value) for value in generate({"T": {"type": "string", **schema}}))


@pytest.mark.parametrize(
    ("fmt", "shape"),
    [
        ("date-time", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
        ("date", r"^\d{4}-\d\d-\d\d$"),
        ("time", r"^\d\d:\d\d:\d\dZ?$"),  # FormatChecker() checks "time" the draft-3 way
        ("uuid", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        ("uri", r"^https://example\.com/"),
        ("url", r"^https://example\.com/"),
        ("email", r"^[^@]+@example\.com$"),
        ("hostname", r"^[a-z0-9-]+\.example\.com$"),
        ("ipv4", r"^\d+\.\d+\.\d+\.\d+$"),
        ("ipv6", r":"),
    ],
)
def test_formats(fmt: str, shape: str) -> None:
    assert all(re.search(shape, value) for value in generate({"T": {"type": "string", "format": fmt}}))


def test_one_of_with_overlapping_branches_matches_exactly_one() -> None:
    generate({"T": {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}})
    numbers = generate({"T": {"oneOf": [{"type": "integer"}, {"type": "number"}]}})
    assert all(isinstance(value, float) for value in numbers)  # every integer also matches "number"
    generate(
        {
            "T": {
                "oneOf": [
                    {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}},
                    {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
                ]
            }
        }
    )


BASE = {"$ref": "#/components/schemas/Base"}


def test_discriminated_union_by_const_property() -> None:
    schemas = {
        "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        **{
            name: {"allOf": [BASE, {"properties": {"kind": {"const": name.lower()}}, "required": ["kind"]}]}
            for name in ("Cat", "Dog")
        },
        "T": {
            "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
            "discriminator": {"propertyName": "kind"},
        },
    }
    kinds = {value["kind"] for value in generate(schemas)}
    assert kinds == {"cat", "dog"}


def test_all_of_merges_properties_required_and_constraints() -> None:
    schemas = {
        "Base": {
            "type": "object",
            "required": ["id"],
            "properties": {"id": {"type": "string", "minLength": 5}, "n": {"type": "integer", "minimum": 10}},
        },
        "T": {
            "allOf": [
                BASE,
                {
                    "required": ["n", "kind"],
                    "properties": {"kind": {"const": "x"}, "n": {"maximum": 12, "multipleOf": 3}},
                },
                {"properties": {"id": {"maxLength": 6}}},
            ]
        },
    }
    for value in generate(schemas):
        assert value["kind"] == "x"
        assert value["n"] == 12
        assert 5 <= len(value["id"]) <= 6


def test_all_of_with_a_union_in_more_than_one_member() -> None:
    schemas = {
        "T": {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}, "c": {"type": "integer"}},
            "additionalProperties": False,
            "allOf": [
                {"anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
                {"oneOf": [{"required": ["c"]}, {"properties": {"c": {"type": "string"}}}]},
            ],
        }
    }
    values = generate(schemas)
    assert all(isinstance(value.get("c", 0), int) for value in values)
    assert {"c" in value for value in values} == {True, False}  # both oneOf branches are reachable


def test_additional_properties_false_with_and_without_declared_properties() -> None:
    closed = generate(
        {"T": {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False}}
    )
    assert all(set(value) <= {"a"} for value in closed)
    assert generate({"T": {"type": "object", "additionalProperties": False}}) == [{}] * len(SEEDS)
    extensions = {"^x-[a-z]+$": {"type": "integer"}}
    patterned = generate(
        {
            "T": {
                "type": "object",
                "patternProperties": extensions,
                "additionalProperties": False,
                "minProperties": 1,
            }
        }
    )
    assert all(value and all(re.match("^x-[a-z]+$", key) for key in value) for value in patterned)
    open_maps = generate({"T": {"type": "object", "additionalProperties": {"type": "integer"}}})
    assert any(open_maps)


def test_nullable_types_prefer_a_value_and_null_only_when_it_is_the_only_choice() -> None:
    schemas = {
        "Thing": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "T": {
            "type": "object",
            "required": ["a", "b", "c", "d", "e", "f"],
            "properties": {
                "a": {"type": ["string", "null"]},
                "b": {"anyOf": [{"type": "null"}, {"$ref": "#/components/schemas/Thing"}]},
                "c": {"type": "null"},
                "d": {"enum": [None]},
                "e": {"const": None},
                "f": {"oneOf": [{"type": "null"}, {"type": "integer"}]},
            },
        },
    }
    for value in generate(schemas):
        assert None not in (value["a"], value["b"], value["f"])
        assert value["c"] is value["d"] is value["e"] is None


def test_min_items_and_unique_items() -> None:
    for value in generate(
        {"T": {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True}}
    ):
        assert sorted(value) == [1, 2, 3]
    for value in generate(
        {"T": {"type": "array", "items": {"type": "boolean"}, "uniqueItems": True, "maxItems": 2}}
    ):
        assert len(value) <= 2
    generate({"T": {"type": "array", "prefixItems": [{"type": "integer"}, {"const": "x"}], "items": False}})
    generate(
        {"T": {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 100}, "minContains": 2}}
    )
    assert all(len(value) == 4 for value in generate({"T": {"type": "array", "minItems": 4, "maxItems": 4}}))


@pytest.mark.parametrize(
    ("schema", "allowed"),
    [
        ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "multipleOf": 3}, {3, 6, 9}),
        ({"type": "integer", "minimum": -7, "maximum": -7}, {-7}),
        ({"type": "integer", "exclusiveMinimum": 4.5, "maximum": 5}, {5}),
        ({"type": "number", "exclusiveMinimum": 0, "maximum": 0.3, "multipleOf": 0.1}, None),
        ({"type": "number", "exclusiveMinimum": 1.5, "exclusiveMaximum": 1.6}, None),
        ({"type": "number", "multipleOf": 0.25, "minimum": -1, "exclusiveMaximum": 0}, None),
        ({"type": "integer", "exclusiveMaximum": 0}, None),
    ],
)
def test_numeric_bounds_and_multiple_of(schema: dict[str, Any], allowed: set[int] | None) -> None:
    values = generate({"T": schema})
    if allowed is not None:
        assert set(values) <= allowed


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    return 0


def test_recursive_refs_stop_at_the_depth_limit() -> None:
    schemas = {
        "Node": {
            "type": "object",
            "required": ["name", "next"],
            "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                "next": {"anyOf": [{"$ref": "#/components/schemas/Node"}, {"type": "null"}]},
            },
        }
    }
    values = generate(schemas, "Node")
    assert all(depth_of(value) <= 2 * DEPTH_LIMIT + 2 for value in values)
    assert any(depth_of(value) >= 4 for value in values)  # the recursion is realistic near the top


def test_not_keyword_and_hints() -> None:
    schemas = {
        "T": {
            "type": "object",
            "required": ["type", "email", "title", "created_at", "run_id"],
            "properties": {
                "type": {"type": "string", "minLength": 1, "not": {"enum": ["text", "image"]}},
                "email": {"type": "string"},
                "title": {"type": "string"},
                "created_at": {"type": "string"},
                "run_id": {"type": "string"},
            },
        }
    }
    for value in generate(schemas):
        assert "@" in value["email"]
        assert " " in value["title"]
        datetime.fromisoformat(value["created_at"])
        assert re.fullmatch(r"[0-9a-f-]{36}", value["run_id"])


# Built once: hypothesis runs the test body many times and forbids function-scoped fixtures.
DOCUMENTS = {path.stem: load(path) for path in SPEC_FILES}
FAKES = {name: FakeData(document) for name, document in DOCUMENTS.items()}
CHECKERS = {name: Checker(document) for name, document in DOCUMENTS.items()}


COMPONENTS = [
    (spec, name) for spec, document in DOCUMENTS.items() for name in document["components"]["schemas"]
]


@settings(max_examples=50, deadline=None, database=None)
@given(target=st.sampled_from(COMPONENTS), seed=st.text(max_size=20))
def test_any_seed_gives_a_valid_value_for_any_component(target: tuple[str, str], seed: str) -> None:
    spec, name = target
    pointer = f"/components/schemas/{escape(name)}"
    value = FAKES[spec].value(at(DOCUMENTS[spec], pointer), seed)
    assert not CHECKERS[spec].errors(pointer, value), (spec, name, seed, value)

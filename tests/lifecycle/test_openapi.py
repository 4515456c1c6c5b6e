"""``lifecycle.openapi`` as tables: operations, ``$ref``s and the schemas of requests and responses."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle.openapi import allows_null, deref, operations, request_schema, response_schema

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "paths": {
        "/jobs/{job_id}": {
            "parameters": [{"$ref": "#/components/parameters/JobId"}, {"name": "trace", "in": "header"}],
            "get": {
                "operationId": "getJob",
                "parameters": [{"name": "trace", "in": "header", "required": True}],
                "responses": {"200": {"$ref": "#/components/responses/Job"}},
            },
            "delete": {"responses": {"204": {"description": "no operationId: not an operation"}}},
        },
        "/jobs": {
            "post": {
                "operationId": "createJob",
                "requestBody": {
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}
                },
                "responses": {"202": {"description": "accepted"}},
            }
        },
    },
    "components": {
        "parameters": {"JobId": {"name": "job_id", "in": "path", "required": True}},
        "responses": {
            "Job": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Job"}}}}
        },
        "schemas": {"Job": {"type": "object"}, "Loop": {"$ref": "#/components/schemas/Loop"}},
    },
}
OPERATIONS = operations(DOCUMENT)


def test_only_operations_with_an_id_are_operations() -> None:
    assert sorted(OPERATIONS) == ["createJob", "getJob"]
    assert (OPERATIONS["getJob"].method, OPERATIONS["getJob"].path) == ("get", "/jobs/{job_id}")
    assert OPERATIONS["getJob"].pointer == "/paths/~1jobs~1{job_id}/get"


@pytest.mark.parametrize(
    ("location", "name", "required"),
    [
        ("path", "job_id", True),
        ("header", "trace", True),
        ("query", "trace", None),
    ],  # the operation's own wins
)
def test_path_parameters_merge_under_the_operations_own(
    location: str, name: str, required: bool | None
) -> None:
    found = OPERATIONS["getJob"].parameter(location, name)
    assert (found.get("required") if found is not None else None) == required


@pytest.mark.parametrize(
    ("operation", "status", "pointer"),
    [
        ("getJob", 200, "/components/schemas/Job"),
        ("getJob", 404, None),
        ("createJob", 202, None),  # a response without content
    ],
)
def test_response_schema(operation: str, status: int, pointer: str | None) -> None:
    located = response_schema(DOCUMENT, OPERATIONS[operation], status)
    assert (located[1] if located is not None else None) == pointer


def test_request_schema_and_deref() -> None:
    located = request_schema(DOCUMENT, OPERATIONS["createJob"])
    assert located is not None
    assert located[0] == {"type": "object"}
    assert request_schema(DOCUMENT, OPERATIONS["getJob"]) is None
    assert deref(DOCUMENT, {"$ref": "#/components/schemas/Job"}) == {"type": "object"}
    deref(DOCUMENT, {"$ref": "#/components/schemas/Loop"})  # a cycle stops; it does not hang


@pytest.mark.parametrize(
    ("schema", "nullable"),
    [
        ({"type": "null"}, True),
        ({"type": ["string", "null"]}, True),
        ({"type": "string"}, False),
        ({}, False),
    ],
)
def test_allows_null(schema: dict[str, Any], nullable: bool) -> None:
    assert allows_null(schema) is nullable

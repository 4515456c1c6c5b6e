"""Request-body validators from the bundled specs, for the independent servers (as a vendor's own
models would check a body; nothing from the mock)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema
import yaml

from lifecycle.bundled import bundled_specs


@cache
def body_validator(
    api: str, schema: str, required: tuple[str, ...] | None = None
) -> jsonschema.Draft202012Validator:
    """A validator of ``components.schemas[schema]`` of ``api``'s spec; ``required`` replaces the
    schema's required list (a server that enforces less than its documents say)."""
    spec = next(p for p in bundled_specs() if p.stem == api)
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    if required is not None:
        document["components"]["schemas"][schema]["required"] = list(required)
    return jsonschema.Draft202012Validator({**document, "$ref": f"#/components/schemas/{schema}"})


def read_body(
    read: Callable[[], Any], api: str, schema: str, required: tuple[str, ...] | None = None
) -> tuple[Any, list[str]]:
    """(the JSON body ``read`` returns, or None when it is not JSON; what is wrong with it)."""
    try:
        body = read()
    except ValueError:
        return None, ["the body is not JSON"]
    if body is None:
        return None, ["the body is not JSON"]
    return body, [error.message for error in body_validator(api, schema, required).iter_errors(body)]

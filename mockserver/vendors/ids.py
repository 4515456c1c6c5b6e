"""Resource ids: where each operation takes the id of the resource it addresses, and new ids."""

from __future__ import annotations

from lifecycle.expressions import parse_expression
from lifecycle.model import Lifecycle
from lifecycle.spec import ApiSpec
from mockserver.engine import Engine


def resource_id_parameter(lifecycle: Lifecycle) -> str | None:
    """The path parameter that carries the resource id in read operations (e.g. ``run_id``)."""
    for view in lifecycle.views:
        if view.id is not None and view.items is None:
            expression = parse_expression(view.id)
            if expression.location == "path":
                return expression.name
    return None


def operation_ids(spec: ApiSpec, id_parameter: str | None) -> dict[str, str]:
    """operation id -> the runtime expression of the id of the one resource it addresses (views
    with an id, cancel, delete, stream, and every operation with the id parameter in its path)."""
    lifecycle = spec.lifecycle
    found = {
        view.operation: view.id for view in lifecycle.views if view.id is not None and view.items is None
    }
    for part in (lifecycle.cancel, lifecycle.delete, lifecycle.stream):
        if part is not None and part.id is not None:
            found[part.operation] = part.id
    if id_parameter is not None:
        for operation in spec.operations.values():
            if operation.parameter("path", id_parameter) is not None:
                found.setdefault(operation.operation_id, f"$request.path.{id_parameter}")
    return found


def mint_id(engine: Engine, lifecycle: Lifecycle) -> str:
    """A fresh id in the lifecycle's format (a uuid4, with the id prefix when it has one)."""
    token = engine.new_uuid()
    return lifecycle.id_prefix + token if lifecycle.id_format == "prefixed-uuid4" else token

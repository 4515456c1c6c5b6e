"""Requests the kit makes, built from the spec alone: examples for what the client chooses, runtime
expressions for ids and scopes, and links for what must happen before a create.

    >>> made = requests.create(target)
    >>> requests.call(target, "retrieveRun", made)
    (200, {...})
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.bodies import generated_body
from contracts.target import Target
from lifecycle.errors import ComebackError
from lifecycle.expressions import Expression, parse_expression, resolve_pointer
from lifecycle.findings import split
from lifecycle.openapi import Operation, deref, request_schema, subschemas_at
from lifecycle.spec import ApiSpec


class UsageError(ComebackError):
    """The spec or the options do not give the kit what it needs to build a request."""


class ServerFailure(ComebackError):
    """The target answered a request the kit needs (a create) with a server error."""


def hint_for(status: int, path_values: Mapping[str, Any]) -> str:
    """What the user can do about a refused request: credentials, or a path parameter's value."""
    if status in (401, 403):
        return (
            "; the server wants credentials: pass --header 'NAME: VALUE' "
            "(and --auth to say how it checks them)"
        )
    if status == 404 and path_values:
        shown = ", ".join(f"{name}={value!r}" for name, value in path_values.items())
        names = " ".join(f"--param {name}=VALUE" for name in path_values)
        return f"; a path parameter may name something this server does not have ({shown}): pass {names}"
    return ""


@dataclass
class Created:
    """A resource the kit created: its id, scope, and the create exchange."""

    id: str
    scope: dict[str, str]
    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    response: Any
    extra: dict[str, Any] = field(default_factory=dict)


class Requests:
    """Builds and sends the requests of one spec."""

    def __init__(self, spec: ApiSpec, overrides: Mapping[str, str] | None = None) -> None:
        self.spec = spec
        self.lifecycle = spec.lifecycle
        self.overrides = dict(overrides or {})

    # -- examples -------------------------------------------------------------------------------
    def example_parameters(self, operation: Operation) -> tuple[dict[str, Any], dict[str, Any]]:
        """(path, query) values from the spec's examples, ``--param`` overrides first."""
        values: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
        for parameter in operation.parameters:
            location, name = parameter.get("in"), parameter.get("name")
            if location not in values or not isinstance(name, str):
                continue
            # optional parameters only when asked for: an example such as a caller-chosen id would
            # make every create after the first a duplicate
            example = _example_of(self.spec.data, parameter) if parameter.get("required") else None
            value = self.overrides.get(name, example)
            if value is None and parameter.get("required"):
                raise UsageError(
                    f"{operation.operation_id}: no example for the required {location} parameter {name!r}; "
                    f"add one to the spec or pass --param {name}=VALUE"
                )
            if value is not None:
                values[location][name] = value
        return values["path"], values["query"]

    def _json_schema(self, operation: Operation) -> dict[str, Any] | None:
        """The JSON request body's schema, if the operation takes one."""
        body = operation.definition.get("requestBody")
        if not isinstance(body, Mapping):
            return None
        media = (deref(self.spec.data, body).get("content") or {}).get("application/json")
        schema = media.get("schema") if isinstance(media, Mapping) else None
        return dict(schema) if isinstance(schema, Mapping) else None

    def example_body(self, operation: Operation) -> Any:
        body = operation.definition.get("requestBody")
        if not isinstance(body, Mapping):
            return None
        media = (deref(self.spec.data, body).get("content") or {}).get("application/json") or {}
        return copy.deepcopy(_example_of(self.spec.data, media))

    # -- create -----------------------------------------------------------------------------------
    def create(
        self, target: Target, *, callback_url: str | None = None, scenario_header: str | None = None
    ) -> Created:
        """Create one resource the way a client would (running any prerequisite the spec links to)."""
        operation = self.spec.operations[self.lifecycle.create.operation]
        path, query = self.example_parameters(operation)
        body = self.example_body(operation)
        generated = body is None and self._json_schema(operation) is not None
        if generated:
            body = generated_body(self.spec.data, self._json_schema(operation) or {}, self.overrides)
        prerequisite = self._prerequisite(target)
        if prerequisite is not None:
            body = _merge(body, prerequisite)
        body = self._with_callback(body, callback_url)
        status, response, _ = target.request(
            operation.method.upper(), _fill(operation.path, path), params=query, json_body=body
        )
        if not 200 <= status < 300:
            message = f"creating a resource with {operation.operation_id}: expected 2xx, got {status}: "
            if status >= 500:
                raise ServerFailure(message + _short(response))
            how = ""
            if generated and status not in (401, 403, 404):
                how = (
                    f"; the spec gives no example body, so the kit sent one built from the schema: "
                    f"{_short(json.dumps(body))}; give a body as the `example` of {operation.operation_id}'s "
                    f"request body in {self.spec.name}'s spec, or a field's value with --param FIELD=VALUE"
                )
            raise UsageError(message + _short(response) + hint_for(status, path) + how)
        made = parse_expression(self.lifecycle.create.id).evaluate(
            path=path, query=query, request_body=body, response_body=response
        )
        if made is None:
            raise UsageError(
                f"{operation.operation_id} answered {status} without an id at {self.lifecycle.create.id}"
            )
        scope = {
            name: str(value)
            for name, expression in self.lifecycle.create.scope.items()
            if (value := parse_expression(expression).evaluate(path=path, query=query, request_body=body))
            is not None
        }
        return Created(str(made), scope, path, query, body, response)

    def _with_callback(self, body: Any, url: str | None) -> Any:
        """The create body with the callback URL set to ``url``, or removed (never an example's URL)."""
        callback = self.lifecycle.callback
        if callback is None or not isinstance(body, dict):
            return body
        tokens = split(parse_expression(callback.url).pointer)
        if url is None:
            _remove(body, tokens)
        else:
            _put(body, tokens, url)
        return body

    def _prerequisite(self, target: Target) -> dict[str, Any] | None:
        """Run an operation whose link feeds the create call (e.g. opening a conversation first)."""
        create_id = self.lifecycle.create.operation
        for operation in self.spec.operations.values():
            for status, response in (operation.definition.get("responses") or {}).items():
                for link in (response.get("links") or {}).values() if isinstance(response, Mapping) else ():
                    if link.get("operationId") == create_id and isinstance(link.get("requestBody"), Mapping):
                        path, query = self.example_parameters(operation)
                        answered, body, _ = target.request(
                            operation.method.upper(), _fill(operation.path, path), params=query
                        )
                        if str(answered) != str(status):
                            message = (
                                f"the prerequisite {operation.operation_id}: expected {status}, got "
                                f"{answered}: {_short(body)}"
                            )
                            if answered >= 500:
                                raise ServerFailure(message)
                            raise UsageError(message + hint_for(answered, path))
                        template: dict[str, Any] = _evaluate_template(link["requestBody"], path, query, body)
                        return template
        return None

    # -- calls about a created resource ------------------------------------------------------------
    def call(
        self,
        target: Target,
        operation_id: str,
        made: Created,
        *,
        id_expression: str | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        """Call ``operation_id`` about ``made``: its id where ``id_expression`` says, its scope where
        the operation has parameters of those names, examples for the rest."""
        method, path, query, body = self.prepare(operation_id, made, id_expression=id_expression, body=body)
        status, answer, _ = target.request(method, path, params=query, json_body=body)
        return status, answer

    def prepare(
        self, operation_id: str, made: Created, *, id_expression: str | None = None, body: Any = None
    ) -> tuple[str, str, dict[str, Any], Any]:
        """(method, path, query, body) of a call about ``made`` (see ``call``)."""
        operation = self.spec.operations[operation_id]
        path, query = self.example_parameters_lenient(operation)
        for values in (path, query):
            for name in list(values):
                if name in made.scope:
                    values[name] = made.scope[name]
                elif name in made.path:
                    values[name] = made.path[name]
        if body is None:
            body = self.example_body(operation) if operation.definition.get("requestBody") else None
        if id_expression is not None:
            expression = parse_expression(id_expression)
            if expression.location == "path":
                path[expression.name] = made.id
            elif expression.location == "query":
                query[expression.name] = made.id
            elif expression.location == "body":
                body = self._with_id(operation, body, expression, made.id)
        return operation.method.upper(), _fill(operation.path, path), query, body

    def example_parameters_lenient(self, operation: Operation) -> tuple[dict[str, Any], dict[str, Any]]:
        """Like ``example_parameters``, but a missing example is left for the caller to fill."""
        path: dict[str, Any] = {}
        query: dict[str, Any] = {}
        for parameter in operation.parameters:
            name, location = parameter.get("name"), parameter.get("in")
            value = self.overrides.get(str(name), _example_of(self.spec.data, parameter))
            if location == "path":
                path[str(name)] = value
            elif location == "query" and (value is not None and parameter.get("required")):
                query[str(name)] = value
        return path, query

    def _with_id(self, operation: Operation, body: Any, expression: Expression, resource_id: str) -> Any:
        """Put the id into the body at the expression's pointer (as a list where the schema wants one)."""
        body = body if isinstance(body, dict) else {}
        tokens = split(expression.pointer)
        located = request_schema(self.spec.data, operation)
        nodes = subschemas_at(self.spec.data, located[0], located[1], expression.pointer) if located else []
        wants_list = any(
            node.get("type") == "array" or "array" in (node.get("type") or []) for node, _ in nodes
        )
        _put(body, tokens, [resource_id] if wants_list else resource_id)
        return body


def _example_of(document: Mapping[str, Any], node: Mapping[str, Any]) -> Any:
    """An example value: ``example``, first ``examples`` value, or the schema's example or default."""
    node = deref(document, node)
    if "example" in node:
        return node["example"]
    for example in (node.get("examples") or {}).values() if isinstance(node.get("examples"), Mapping) else ():
        if isinstance(example, Mapping) and "value" in example:
            return example["value"]
    schema = deref(document, node.get("schema", {})) if "schema" in node else node
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if "example" in schema:
        return schema["example"]
    return schema.get("default")


def _fill(path: str, values: Mapping[str, Any]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def _evaluate_template(
    template: Any, path: Mapping[str, Any], query: Mapping[str, Any], response: Any
) -> Any:
    """A link's requestBody: runtime expressions evaluated against the linked call, literals kept."""
    if isinstance(template, str) and template.startswith("$"):
        try:
            return parse_expression(template).evaluate(path=path, query=query, response_body=response)
        except ValueError:
            return template
    if isinstance(template, Mapping):
        return {key: _evaluate_template(value, path, query, response) for key, value in template.items()}
    if isinstance(template, list):
        return [_evaluate_template(item, path, query, response) for item in template]
    return template


def _merge(base: Any, overlay: Mapping[str, Any]) -> Any:
    merged = dict(base) if isinstance(base, dict) else {}
    merged.update({key: value for key, value in overlay.items() if value is not None})
    return merged


def _put(body: dict[str, Any], tokens: list[str], value: Any) -> None:
    for token in tokens[:-1]:
        body = body.setdefault(token, {})
    body[tokens[-1]] = value


def _remove(body: Any, tokens: list[str]) -> None:
    parent = resolve_pointer(body, "".join("/" + t for t in tokens[:-1])) if len(tokens) > 1 else body
    if isinstance(parent, dict):
        parent.pop(tokens[-1], None)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 200 else text[:197] + "..."

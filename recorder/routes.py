"""Which operation of the spec a proxied request is: method and path matched against the templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from lifecycle.openapi import Operation

_PARAMETER = re.compile(r"\{([^}/]+)\}")


@dataclass(frozen=True, slots=True)
class Route:
    """An operation and the path parameters a request gave it."""

    operation: Operation
    path: Mapping[str, str]


class Router:
    """Matches ``(method, path)`` to an operation; literal paths win over templated ones.

    >>> Router(spec.operations).match("GET", "/v1/runs/run-1").operation.operation_id
    'retrieveRun'
    """

    def __init__(self, operations: Mapping[str, Operation]) -> None:
        compiled = []
        for operation in operations.values():
            names = _PARAMETER.findall(operation.path)
            pattern = "".join(
                re.escape(part) if index % 2 == 0 else f"(?P<p{index // 2}>[^/]+)"
                for index, part in enumerate(_PARAMETER.split(operation.path))
            )
            # fewer parameters first: /runs/active is a literal path, not /runs/{run_id}
            compiled.append((len(names), operation, re.compile(f"^{pattern}/?$"), names))
        compiled.sort(key=lambda item: item[0])
        self._routes = [(operation, regex, names) for _, operation, regex, names in compiled]

    def match(self, method: str, path: str) -> Route | None:
        method = method.lower()
        for operation, regex, names in self._routes:
            if operation.method != method:
                continue
            found = regex.match(path)
            if found is not None:
                values = {name: unquote(found.group(f"p{index}")) for index, name in enumerate(names)}
                return Route(operation, values)
        return None

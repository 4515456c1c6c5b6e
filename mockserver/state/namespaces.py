"""Namespaces: clients sharing one mock (CI jobs, developers) each see only their own state.

A request names its namespace with ``X-Mock-Namespace: NAME`` (admin routes and the dashboard with
``?namespace=NAME``); without one it is in the default namespace. The endpoint sets
``CURRENT_NAMESPACE`` once per request; the engine reads it.
"""

from __future__ import annotations

import re
from contextvars import ContextVar

DEFAULT_NAMESPACE = "default"
NAMESPACE_HEADER = "x-mock-namespace"  # lower case, as ASGI scopes carry header names
NAMESPACE_RULE = "1 to 64 characters from A-Z, a-z, 0-9, '_', '.', '-'"
_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]{1,64}\Z")
# the namespace of the request being served: set once by the endpoint (or an admin route, or
# ``in_namespace``), read by the engine; a command on a resource uses the resource's own namespace
CURRENT_NAMESPACE: ContextVar[str] = ContextVar("comeback_namespace", default=DEFAULT_NAMESPACE)


def namespace_problem(name: str) -> str | None:
    """Why ``name`` cannot be a namespace (None: it can); the message states the rule."""
    if _NAMESPACE.match(name):
        return None
    shown = name if len(name) <= 70 else name[:67] + "..."
    return f"X-Mock-Namespace must be {NAMESPACE_RULE}; found {shown!r}"

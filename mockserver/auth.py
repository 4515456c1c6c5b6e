"""Credentials as the spec's security requirements declare them.

Any credentials are accepted unless a token is configured; missing ones get the vendor's 401.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class _Scheme:
    kind: str  # "bearer", "basic", "header", "query"
    name: str  # header or query parameter name


@dataclass(frozen=True, slots=True)
class AuthRule:
    """The alternatives an operation accepts; each is a set of schemes that must all be present."""

    alternatives: tuple[tuple[_Scheme, ...], ...]
    reads_query: bool = False  # some scheme is a query parameter (else the query need not be parsed)
    schemes: tuple[_Scheme, ...] = ()  # every scheme of the alternatives, once
    _decided: dict[tuple[str | None, ...], bool] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def compile(cls, document: Mapping[str, Any], operation: Mapping[str, Any]) -> AuthRule:
        requirements: Sequence[Mapping[str, Any]] = operation.get("security", document.get("security", []))
        schemes = (document.get("components") or {}).get("securitySchemes") or {}
        alternatives = []
        for requirement in requirements:
            alternatives.append(tuple(_scheme(schemes[name]) for name in requirement if name in schemes))
        reads_query = any(scheme.kind == "query" for alternative in alternatives for scheme in alternative)
        used = tuple(dict.fromkeys(scheme for alternative in alternatives for scheme in alternative))
        return cls(tuple(alternatives), reads_query, used)

    def allows(self, headers: Mapping[str, str], query: Mapping[str, str], token: str | None) -> bool:
        """True when some alternative is fully present (and, with a token, carries it). ``headers``
        are looked up by lower-case name."""
        if not self.alternatives:
            return True
        # the answer depends only on the credential values: a client sends the same ones on every call
        key = (token, *(_value(scheme, headers, query) for scheme in self.schemes))
        known = self._decided.get(key)
        if known is None:
            known = any(
                all(_present(scheme, headers, query) for scheme in alt)
                and _carries(alt, headers, query, token)
                for alt in self.alternatives
            )
            if len(self._decided) < 256:  # bounded: random credentials from a fuzzer must not grow it
                self._decided[key] = known
        return known


def _scheme(definition: Mapping[str, Any]) -> _Scheme:
    if definition.get("type") == "http":
        scheme = str(definition.get("scheme", "bearer")).lower()
        return _Scheme("basic" if scheme == "basic" else "bearer", "authorization")
    if definition.get("type") == "apiKey" and definition.get("in") == "query":
        return _Scheme("query", str(definition["name"]))
    return _Scheme("header", str(definition.get("name", "authorization")).lower())


def _value(scheme: _Scheme, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    return (query.get(scheme.name) if scheme.kind == "query" else headers.get(scheme.name)) or ""


def _present(scheme: _Scheme, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    value = _value(scheme, headers, query).strip()
    if scheme.kind == "bearer":
        return value.lower().startswith("bearer ") and bool(value[7:].strip())
    if scheme.kind == "basic":
        return value.lower().startswith("basic ") and bool(value[6:].strip())
    return bool(value)


def _carries(
    alternative: Sequence[_Scheme], headers: Mapping[str, str], query: Mapping[str, str], token: str | None
) -> bool:
    """With a token configured, one credential of the alternative must be it (after any scheme word)."""
    if token is None:
        return True
    for scheme in alternative:
        value = _value(scheme, headers, query).strip()
        if value == token or value.split(" ", 1)[-1].strip() == token:
            return True
    return False

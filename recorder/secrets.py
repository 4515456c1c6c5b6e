"""Credentials never reach a written file: what the spec's security schemes name is masked.

``Secrets`` knows the header, query and cookie names the spec's ``securitySchemes`` use (plus
``Authorization``, which every HTTP scheme uses) and the credential values clients actually sent
through the proxy. ``clean`` removes those names from any JSON-like value and replaces every seen
credential value inside strings; ``url`` drops user info and credential query parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lifecycle.credentials import is_secret_name

MASK = "***"
# shorter values would mask ordinary words; real credentials are longer
_MIN_SECRET = 4


class Secrets:
    """Credential names from a spec, and the credential values seen so far."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        schemes = ((document.get("components") or {}).get("securitySchemes") or {}).values()
        self.headers = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
        self.query: set[str] = set()
        self.names: set[str] = set()  # any place: removed from bodies wherever a key has this name
        for scheme in schemes:
            if not isinstance(scheme, Mapping):
                continue
            name = str(scheme.get("name", "")).lower()
            where = scheme.get("in")
            if scheme.get("type") == "apiKey" and name:
                self.names.add(name)
                if where == "header":
                    self.headers.add(name)
                elif where == "query":
                    self.query.add(name)
        self.names |= self.headers - {"cookie", "set-cookie"}
        self._values: set[str] = set()

    def learn(self, headers: Iterable[tuple[str, str]], query: Iterable[tuple[str, str]] = ()) -> None:
        """Remember the credential values of one request (the whole value and its token part)."""
        for name, value in headers:
            if name.lower() in self.headers:
                self._remember(value)
        for name, value in query:
            if name.lower() in self.query:
                self._remember(value)

    def learn_body(self, body: bytes) -> None:
        """Remember the values under secret-looking names of a request body, JSON or form: an answer
        may echo them (a 422 listing its input), and no written file may show them."""
        try:
            data: Any = json.loads(body) if body.strip() else None
        except (ValueError, RecursionError):
            data = dict(parse_qsl(body.decode("utf-8", "replace"))) if b"=" in body else None
        stack: list[tuple[Any, bool]] = [(data, False)]
        while stack:
            value, secret = stack.pop()
            if isinstance(value, Mapping):
                stack.extend((item, secret or is_secret_name(str(key))) for key, item in value.items())
            elif isinstance(value, list):
                stack.extend((item, secret) for item in value)
            elif secret and value is not None and not isinstance(value, bool):
                self._remember(value if isinstance(value, str) else json.dumps(value))

    def _remember(self, value: str) -> None:
        for part in (value, *value.split(None, 1)[1:]):  # "Bearer abc" -> also "abc"
            if len(part.strip()) >= _MIN_SECRET:
                self._values.add(part.strip())

    def masked_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Headers with every credential value replaced (for logs and messages)."""
        return [(name, MASK if name.lower() in self.headers else value) for name, value in headers]

    def clean(self, value: Any) -> Any:
        """``value`` without credential-named keys and with every seen credential masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                key: self.clean(item) for key, item in value.items() if str(key).lower() not in self.names
            }
        if isinstance(value, list | tuple):
            return [self.clean(item) for item in value]
        return value

    def text(self, text: str) -> str:
        for secret in sorted(self._values, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def url(self, url: str) -> str:
        """``url`` without user info and without credential query parameters."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        query = [
            (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in self.query
        ]
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment)))


def redact_query(query: str, names: set[str]) -> str:
    """A raw query string with the values of ``names`` masked (for log lines)."""
    return re.sub(
        r"(^|&)([^=&]+)=([^&]*)",
        lambda m: f"{m.group(1)}{m.group(2)}={MASK if m.group(2).lower() in names else m.group(3)}",
        query,
    )

"""Credentials masked in whatever the mock shows back: headers, query strings, JSON and form
bodies, and every echo of a request's secret values in its answer.

Names are secret-looking by ``lifecycle.credentials.is_secret_name``: ``openai_api_key``,
``X-Api-Key``, ``accessToken`` are masked; ``max_tokens`` and ``return_token_ids`` are not. The whole value
of such a field is masked, whatever its type (``true``/``false``/``null`` say nothing and stay),
and JSON keys are read with their escapes (``"api\\u005fkey"`` is ``api_key``). An answer that
echoes a request's input (a vendor's 422 listing what it refused) would show the secret again under
another name, so every secret value of the request is masked wherever it appears in the entry.

    >>> Masker().text('{"openai_api_key": 12345, "max_tokens": 5}')
    '{"openai_api_key": "***", "max_tokens": 5}'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlencode

from lifecycle.credentials import is_secret_name
from mockserver.safejson import BadJson, loads

MASK = "***"
# headers that carry credentials whatever the spec says
ALWAYS_MASKED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-mock-admin-token"}
)
# Authorization schemes worth keeping visible (a test may check which one a client used); any other
# first word may be the credential itself
AUTH_SCHEMES = frozenset(
    {"basic", "bearer", "digest", "token", "negotiate", "ntlm", "hoba", "dpop", "apikey"}
)
MIN_ECHO = 4  # shorter request values would mask ordinary words of an answer
PLAIN_KEYS = 4096  # JSON keys remembered as not secret (a fast path; hostile input cannot grow it further)

_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:\s*')
_PLAIN_KEY = re.compile(r'"([^"\\]*)"\s*:')  # the same keys in text without a backslash, 4x faster
_STRING = re.compile(r'"(?:[^"\\]|\\.)*("|$)')  # group 1: the closing quote, empty when cut
_LITERAL = re.compile(r"[^,}\]\s]*")


class Masker:
    """Masks credentials in headers, query strings and body text."""

    def __init__(self, headers: Iterable[str] = (), query: Iterable[str] = ()) -> None:
        self.headers = ALWAYS_MASKED_HEADERS | {name.lower() for name in headers}
        self.query = frozenset(name.lower() for name in query)
        self._plain_keys: set[str] = set()  # raw JSON keys seen not to be secret

    def is_secret_header(self, name: str) -> bool:
        return name.lower() in self.headers or is_secret_name(name)

    def header(self, name: str, value: str) -> str:
        if not self.is_secret_header(name):
            return value
        scheme, space, rest = value.strip().partition(" ")
        return f"{scheme} {MASK}" if space and rest and scheme.lower() in AUTH_SCHEMES else MASK

    def _secret_parameter(self, name: str) -> bool:
        return name.lower() in self.query or is_secret_name(name)

    def query_string(self, query: str) -> str:
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        if not any(self._secret_parameter(k) for k, _ in pairs):
            return query
        return urlencode([(k, MASK if self._secret_parameter(k) else v) for k, v in pairs], safe="*")

    def text(self, text: str, echoes: Iterable[str] = ()) -> str:
        """``text`` (JSON, possibly cut, or a form body) with secret fields and ``echoes`` masked."""
        stripped = text.lstrip()
        if stripped[:1] in ("{", "[", '"') and self._may_hold_secrets(text):
            text = _mask_json(text, self._secret_parameter)
        elif "=" in text:
            text = _mask_form(text, self._secret_parameter)
        for value in sorted(set(echoes), key=len, reverse=True):
            text = text.replace(value, MASK)
            escaped = json.dumps(value)[1:-1]
            if escaped != value:
                text = text.replace(escaped, MASK)
        return text

    def _may_hold_secrets(self, text: str) -> bool:
        """Whether a key of JSON ``text`` may be secret: every key is found in one pass (the same keys
        ``_mask_json`` walks when it masks nothing), and keys seen plain before are not checked again."""
        unknown = set((_KEY if "\\" in text else _PLAIN_KEY).findall(text)) - self._plain_keys
        for raw in unknown:
            if self._secret_parameter(_key(raw)):
                return True
            if len(self._plain_keys) < PLAIN_KEYS:
                self._plain_keys.add(raw)
        return False

    def request_secrets(self, headers: dict[str, str], query: str, body: str | None) -> set[str]:
        """The secret values a request carried (credentials, secret fields): what an echo would show."""
        found: set[str] = set()
        for name, value in headers.items():
            if self.is_secret_header(name):
                found.add(value.strip())
                found.update(value.split(None, 1)[1:])  # "Bearer abc" -> also "abc"
        for name, value in parse_qsl(query, keep_blank_values=True):
            if self._secret_parameter(name):
                found.add(value)
        if body:
            try:
                found.update(_secret_leaves(loads(body), self._secret_parameter))
            except BadJson:
                if "=" in body:
                    pairs = parse_qsl(body, keep_blank_values=True)
                    found.update(value for name, value in pairs if self._secret_parameter(name))
        return {value.strip() for value in found if len(value.strip()) >= MIN_ECHO and value.strip() != MASK}


def _secret_leaves(value: Any, secret: Any, inside: bool = False) -> Iterator[str]:
    """Every scalar under a secret-named key of a parsed JSON value, as text."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _secret_leaves(item, secret, inside or secret(str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _secret_leaves(item, secret, inside)
    elif inside and value is not None and not isinstance(value, bool):
        yield value if isinstance(value, str) else json.dumps(value)


def _mask_json(text: str, secret: Any) -> str:
    """Every value of a secret-named key replaced by ``"***"``, in JSON text that may have been cut."""
    parts: list[str] = []
    position = 0
    while (match := _KEY.search(text, position)) is not None:
        start = match.end()
        parts.append(text[position:start])
        position = start
        if not secret(_key(match.group(1))):
            continue
        end, complete = _value_end(text, start)
        if text[start:end] in ("true", "false", "null"):
            continue
        parts.append(f'"{MASK}"' if complete else f'"{MASK}')  # cut inside the secret: still cut
        position = end
    parts.append(text[position:])
    return "".join(parts)


def _key(raw: str) -> str:
    """A JSON key as its escapes spell it (``api\\u005fkey`` -> ``api_key``)."""
    if "\\" not in raw:
        return raw
    try:
        return str(json.loads(f'"{raw}"'))
    except ValueError:
        return raw


def _value_end(text: str, start: int) -> tuple[int, bool]:
    """Where the JSON value at ``start`` ends, and whether it is whole (not cut off by the end)."""
    first = text[start : start + 1]
    if first == '"':
        match = _STRING.match(text, start)
        return (match.end(), bool(match.group(1))) if match else (len(text), False)
    if first not in ("{", "["):
        match = _LITERAL.match(text, start)
        return (match.end() if match else start), True
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == '"':
            match = _STRING.match(text, position)
            position = match.end() if match else len(text)
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                return position + 1, True
        position += 1
    return len(text), False


def _mask_form(text: str, secret: Any) -> str:
    """``a=1&password=x`` -> ``a=1&password=***`` (the other pairs byte for byte)."""
    pieces = []
    for piece in text.split("&"):
        name, separator, _ = piece.partition("=")
        pieces.append(f"{name}={MASK}" if separator and secret(unquote_plus(name)) else piece)
    return "&".join(pieces)

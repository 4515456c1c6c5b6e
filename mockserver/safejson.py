"""JSON text from clients, parsed so that no input can crash a handler.

``json.loads`` alone accepts things the rest of the mock cannot survive: integers over 4,300 digits
(``ValueError`` outside ``JSONDecodeError``), nesting deep enough for ``RecursionError`` (or deep
enough that a later recursive walk hits it), ``NaN``/``Infinity`` and ``1e400`` (which no JSON
response may carry), and escaped lone surrogates (which cannot be encoded as UTF-8 again).
``loads`` refuses all of them with one exception type, ``BadJson``, whose message says what was
wrong, so API routes answer the vendor's 4xx and admin routes a problem.

    >>> loads(b'{"seconds": 1}')
    {'seconds': 1}
"""

from __future__ import annotations

import json
import math
from typing import Any

from lifecycle.errors import ComebackError

MAX_DEPTH = 64  # far deeper than any vendor body; far below the interpreter's recursion limit


class BadJson(ComebackError, ValueError):
    """The text is not JSON the mock accepts; ``str(error)`` says why."""


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"the number {text[:40]} is out of range; send a finite number")
    return value


# one decoder, as json.loads would build with these hooks on every call
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def loads(raw: bytes | str) -> Any:
    """Parse ``raw`` or raise ``BadJson``."""
    try:
        value = _DECODER.decode(_text(raw))
    except BadJson:
        raise
    except RecursionError:
        raise BadJson(f"JSON nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeDecodeError as error:
        raise BadJson(f"the body is not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise BadJson(f"JSON decode error: {error}") from None
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        raise BadJson(f"JSON value refused: {error}") from None
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_DEPTH and _depth_exceeds(value, MAX_DEPTH):
        raise BadJson(f"JSON nested more than {MAX_DEPTH} levels deep")
    if b"\\u" in data and _has_lone_surrogate(value):
        raise BadJson("JSON string with a lone surrogate (\\ud800-\\udfff); strings must be Unicode text")
    return value


def _text(raw: bytes | str) -> str:
    """What ``json.loads`` decodes: bytes in the encoding their first bytes show (UTF-8, -16, -32);
    text, unless it starts with a byte order mark."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return raw
    return raw.decode(json.detect_encoding(raw), "surrogatepass")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iterative: a deep value must not recurse here)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if isinstance(child, dict | list))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return False


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if not node.isascii():
                try:
                    node.encode("utf-8")
                except UnicodeEncodeError:
                    return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def finite(value: Any) -> bool:
    """A real number the mock can do arithmetic and render with (not bool, NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) if isinstance(value, float) else abs(value) < 10**18

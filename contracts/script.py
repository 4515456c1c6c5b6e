"""A finding's reproduction as a shell script you can paste: the same requests, in order, with the
ids the server chose captured into variables from its answers, the waits the kit observed between
requests as ``sleep``s, and credentials as environment references.

    RUN=$(curl -sS -X POST http://127.0.0.1:8283/v1/agents/agent-1/messages/async ... \\
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')   # answered 200
    sleep 0.4
    curl -sS -X GET "http://127.0.0.1:8283/v1/runs/${RUN}" -w '  # HTTP %{http_code}\\n'

An id the kit chose itself (PrivateGPT's caller-chosen ``message_id``) gets a fresh value on every
run of the script, so a pasted script never meets a duplicate.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence

from contracts.target import Exchange

MIN_SLEEP = 0.2  # gaps shorter than this are the kit's own pace, not a wait the finding needs
_ID_KEY = re.compile(r"(^|_)id$")


def script(exchanges: Sequence[Exchange], references: Mapping[str, str] | None = None) -> list[str]:
    """The exchanges as shell lines (see the module docstring)."""
    refs = references or {}
    names: dict[str, str] = {}  # value -> variable
    lines: list[str] = []
    captured = _captures(exchanges)
    chosen = _chosen(exchanges)
    for value in chosen:
        names[value] = _variable(value, names, "ID")
        lines.append(f'{names[value]}="comeback-$(date +%s)-$RANDOM"   # an id the client chooses: fresh')
    previous: float | None = None
    for index, exchange in enumerate(exchanges):
        if previous is not None and exchange.at - previous >= MIN_SLEEP:
            lines.append(f"sleep {exchange.at - previous:.1f}")
        previous = exchange.at
        command = _curl(exchange, refs, names)
        capture = captured.get(index)
        if capture is not None:
            key, value = capture
            names[value] = _variable(value, names, _stem(key, value))
            reader = f'import json,sys; print(json.load(sys.stdin)["{key}"])'
            lines.append(
                f"{names[value]}=$({command} | python3 -c {shlex.quote(reader)})   # {exchange.outcome()}"
            )
            lines.append(f'echo "{names[value]}=${names[value]}"')
        else:
            lines.append(f"{command} -w '  # HTTP %{{http_code}}\\n'   # {exchange.outcome()}")
    return lines


def _captures(exchanges: Sequence[Exchange]) -> dict[int, tuple[str, str]]:
    """{exchange index: (top-level key, value)} for answers whose id a later request uses."""
    found: dict[int, tuple[str, str]] = {}
    used: set[str] = set()
    for index, exchange in enumerate(exchanges):
        if not isinstance(exchange.response, dict):
            continue
        for key, value in exchange.response.items():
            if not (_ID_KEY.search(key) and isinstance(value, str) and len(value) >= 6) or value in used:
                continue
            later = exchanges[index + 1 :]
            sent_before = any(_mentions(e, value) for e in exchanges[: index + 1])
            if not sent_before and any(_mentions(e, value) for e in later):
                found[index] = (key, value)
                used.add(value)
                break
    return found


def _chosen(exchanges: Sequence[Exchange]) -> list[str]:
    """Ids the client put in its first request that creates something (a query value reused later)."""
    for exchange in exchanges[:1]:
        query = exchange.url.partition("?")[2]
        for pair in query.split("&"):
            value = pair.partition("=")[2]
            if value.startswith("comeback-") and any(_mentions(e, value) for e in exchanges[1:]):
                return [value]
    return []


def _mentions(exchange: Exchange, value: str) -> bool:
    return value in exchange.url or (exchange.body is not None and value in json.dumps(exchange.body))


def _stem(key: str, value: str) -> str:
    prefix = value.split("-", 1)[0] if "-" in value else ""
    word = prefix if prefix.isalpha() and len(prefix) <= 12 else key.removesuffix("_id") or "id"
    return re.sub(r"[^A-Z0-9]", "_", word.upper())


def _variable(value: str, names: Mapping[str, str], stem: str) -> str:
    taken = set(names.values())
    name, n = stem, 1
    while name in taken:
        n += 1
        name = f"{stem}{n}"
    return name


def _curl(exchange: Exchange, references: Mapping[str, str], names: Mapping[str, str]) -> str:
    return exchange.curl(references, quote=lambda text: _quote(text, names))


def _quote(text: str, names: Mapping[str, str]) -> str:
    """``text`` quoted for the shell, with every known id as its variable (double quotes then)."""
    present = [value for value in names if value in text]
    if not present:
        return shlex.quote(text)
    escaped = re.sub(r'(["$`\\])', r"\\\1", text)
    for value in sorted(present, key=len, reverse=True):
        escaped = escaped.replace(re.sub(r'(["$`\\])', r"\\\1", value), "${" + names[value] + "}")
    return f'"{escaped}"'
